//! The exit-code convention: 2 for an input or output path to fix, found before any work and
//! before any directory is created; the OS error printed once.

use assert_cmd::Command;

fn reports() -> Command {
    Command::cargo_bin("reports").unwrap()
}

#[test]
fn a_missing_costs_file_exits_2_and_creates_no_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = reports()
        .args(["--quiet", "--costs", "/nonexistent/costs.toml", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(stderr.contains("--costs"), "{stderr}");
    assert_eq!(stderr.matches("no such file").count(), 1, "{stderr}");
    assert!(
        !out.exists(),
        "--out was created before the inputs were checked"
    );
}

#[test]
fn a_costs_file_with_a_syntax_error_exits_2_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let costs = dir.path().join("costs.toml");
    std::fs::write(&costs, "[costs]\nthread_switch =\n").unwrap();
    let run = reports()
        .args(["--quiet", "--out"])
        .arg(dir.path().join("out"))
        .arg("--costs")
        .arg(&costs)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(stderr.contains("costs.toml:2:"), "{stderr}");
}

#[test]
fn an_out_path_under_a_file_exits_2_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let start = std::time::Instant::now();
    let run = reports()
        .args(["--quiet", "--out"])
        .arg(file.join("out"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(stderr.contains("--out"), "{stderr}");
    // Measuring takes seconds; a check before any work takes far less.
    assert!(start.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn help_shows_the_exit_code_table() {
    let run = reports().arg("--help").assert().code(0);
    let stdout = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(stdout.contains("Exit codes: 0 success; 1"), "{stdout}");
}
