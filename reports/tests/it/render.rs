//! Every chart renders into a directory as a non-empty, well-formed SVG, a 1920x1080 PNG and a
//! CSV holding the numbers it plots.

use std::path::Path;

use reports::Chart;
use reports::chart::write;

use crate::sample;

/// Where to render: `REPORTS_SAMPLE_DIR` when set (to look at the charts), else a temp dir.
fn out_dir() -> (Option<tempfile::TempDir>, std::path::PathBuf) {
    match std::env::var_os("REPORTS_SAMPLE_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            (None, d.into())
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

fn check_svg(path: &Path) {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(
        svg.starts_with("<svg"),
        "{} does not open with <svg",
        path.display()
    );
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{} is not closed",
        path.display()
    );
    assert!(
        svg.contains("@font-face"),
        "{} does not carry its font",
        path.display()
    );
    assert!(svg.contains("<text"), "{} has no text", path.display());
    assert_well_formed(&svg, path);
}

/// Every tag that opens closes, in order (or closes itself), and the root is one `<svg>`: the
/// nesting half of XML well-formedness, enough to catch truncated or interleaved output.
fn assert_well_formed(svg: &str, path: &Path) {
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = start
            + rest[start..]
                .find('>')
                .unwrap_or_else(|| panic!("{}: unclosed <", path.display()));
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("{}: </{name}> closes nothing", path.display()));
            assert_eq!(
                open,
                name.trim(),
                "{}: <{open}> closed by </{name}>",
                path.display()
            );
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("");
            if stack.is_empty() {
                roots += 1;
            }
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "{}: unclosed {stack:?}", path.display());
    assert_eq!(roots, 1, "{}: one root element expected", path.display());
}

fn check_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    // IHDR: width and height, big-endian, at bytes 16..24.
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (1920, 1080), "{}", path.display());
}

/// Renders `chart`; the returned guard keeps a temp dir alive while the test reads it.
fn render<C: Chart>(chart: &C) -> (Option<tempfile::TempDir>, reports::Written) {
    let (keep, dir) = out_dir();
    let w = write(chart, &dir, "sample data · test machine · 2026-01-01").unwrap();
    check_svg(&w.svg);
    check_png(&w.png);
    assert!(std::fs::metadata(&w.csv).unwrap().len() > 0);
    assert!(!w.title.is_empty() && !w.caption.is_empty());
    (keep, w)
}

/// The numbers in column `header` of the CSV at `path`.
pub fn csv_column(path: &Path, header: &str) -> Vec<f64> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let i = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header}"));
    r.records()
        .filter_map(|rec| rec.unwrap()[i].parse().ok())
        .collect()
}

#[test]
fn costs_renders_and_its_csv_holds_the_measured_ns() {
    let data = sample::costs();
    let (_dir, w) = render(&data);
    let ns = csv_column(&w.csv, "ns");
    for r in &data.rows {
        if let Some(v) = r.ns {
            assert!(ns.contains(&v), "CSV lacks {v} ns of {}", r.label);
        }
    }
    // And the talk's claimed range, drawn beside them.
    assert!(ns.contains(&1e4));
    assert_eq!(csv_column(&w.csv, "ns_high"), vec![1e6]);
    assert!(w.title.contains("4,677 adds"), "title: {}", w.title);
    // The working-set curve, both orders, and what the caption computes from it.
    let bytes = csv_column(&w.csv, "working_set_bytes");
    let curve = data.indirect.as_ref().unwrap();
    for (b, v) in curve.random.iter().chain(&curve.sequential) {
        assert!(
            bytes.contains(&(*b as f64)) && ns.contains(v),
            "CSV lacks {b} B, {v} ns"
        );
    }
    assert!(
        w.caption
            .contains("crosses 10 µs for good between 16 KiB (1.4 µs) and 64 KiB (15 µs)")
            && w.caption.contains("stays above 1 ms from 4 MiB (1.3 ms)"),
        "caption: {}",
        w.caption
    );
}

#[test]
fn costs_renders_without_the_curve_and_says_so() {
    let data = reports::chart::costs::Costs {
        indirect: None,
        ..sample::costs()
    };
    let (_dir, w) = render(&data);
    assert!(w.caption.contains("was not measured"), "{}", w.caption);
    assert!(csv_column(&w.csv, "working_set_bytes").is_empty());
}

#[test]
fn slowdown_renders_every_measured_point_and_the_simulated_throughput() {
    let data = sample::slowdown();
    let (_dir, w) = render(&data);
    let ys = csv_column(&w.csv, "y");
    let ind = &data.indirect;
    let measured = ind
        .random
        .iter()
        .chain(&ind.sequential)
        .chain(&ind.runnable)
        .chain(&ind.runnable_64kib);
    for (_, v) in measured {
        assert!(ys.contains(v), "CSV lacks {v} ns");
    }
    for p in &data.connections.as_ref().unwrap().points {
        assert!(
            ys.contains(&p.throughput_rps),
            "CSV lacks {} rps",
            p.throughput_rps
        );
    }
    assert!(
        w.title.contains("with 64 runnable threads than with 2"),
        "title: {}",
        w.title
    );
    assert!(w.caption.contains("cache model"), "caption: {}", w.caption);
    // The sample's 4 MiB point counted more than one switch per hand-off: out of the fit.
    assert!(
        w.caption.contains("of 5 working-set points")
            && w.caption.contains("1 working-set point left out"),
        "caption: {}",
        w.caption
    );
}

#[test]
fn slowdown_renders_without_the_simulation() {
    let data = reports::chart::slowdown::Slowdown {
        connections: Err("sim failed".into()),
        ..sample::slowdown()
    };
    let (_dir, w) = render(&data);
    assert!(w.caption.contains("missing (sim failed)"), "{}", w.caption);
}

#[test]
fn switches_renders_and_its_csv_holds_switches_per_request() {
    let data = sample::switches();
    let (_dir, w) = render(&data);
    let got = csv_column(&w.csv, "context_switches_per_request");
    let want: Vec<f64> = data.rows.iter().map(|r| r.switches_per_request).collect();
    assert_eq!(got, want);
}

#[test]
fn connections_renders_and_its_csv_holds_both_series() {
    let data = sample::connections();
    let (_dir, w) = render(&data);
    assert_eq!(
        csv_column(&w.csv, "peak_memory_bytes"),
        data.points
            .iter()
            .map(|p| p.peak_memory_bytes)
            .collect::<Vec<_>>()
    );
}

#[test]
fn fastapi_renders_with_published_points() {
    let data = sample::fastapi();
    let (_dir, w) = render(&data);
    let ms = csv_column(&w.csv, "latency_ms");
    assert!(ms.contains(&300.0) && ms.contains(&150.0) && ms.contains(&304.0));
}

#[test]
fn recipe_renders_published_beside_simulated() {
    let data = sample::recipe();
    let (_dir, w) = render(&data);
    let rps = csv_column(&w.csv, "rps");
    assert_eq!(rps, vec![58.3, 61.0, 495.3, 470.0, 267.1, 250.0]);
}

#[test]
fn websockets_renders() {
    let data = sample::websockets();
    let (_dir, w) = render(&data);
    assert_eq!(
        csv_column(&w.csv, "broadcast_p99_ms"),
        vec![420.0, 110.0, 90.0]
    );
}

#[test]
fn cores_renders_both_workloads() {
    let data = sample::cores();
    let (_dir, w) = render(&data);
    assert_eq!(csv_column(&w.csv, "cores").len(), data.points.len());
    assert!(
        w.title.contains("CPU-bound throughput x64"),
        "title: {}",
        w.title
    );
    assert!(
        w.title.contains("I/O-bound throughput x2,"),
        "title: {}",
        w.title
    );
}

#[test]
fn pricing_renders_the_price_table() {
    let data = sample::pricing();
    let (_dir, w) = render(&data);
    let usd = csv_column(&w.csv, "usd_per_month");
    assert!(usd.contains(&960.0));
}

#[test]
fn cpu_renders_and_its_shares_sum_to_one() {
    let data = sample::cpu();
    let (_dir, w) = render(&data);
    let u = csv_column(&w.csv, "useful");
    let s = csv_column(&w.csv, "switching");
    let i = csv_column(&w.csv, "idle");
    for k in 0..u.len() {
        assert!((u[k] + s[k] + i[k] - 1.0).abs() < 1e-9);
    }
}

#[test]
fn testbed_renders_measured_beside_predicted_and_counts_points_on_target() {
    let data = sample::testbed();
    let (_dir, w) = render(&data);
    let measured = csv_column(&w.csv, "measured_rps");
    assert_eq!(
        measured.len(),
        data.points.len() - 1,
        "the failed point has no number"
    );
    assert_eq!(csv_column(&w.csv, "predicted_rps").len(), measured.len());
    // 20 points, one load-bound and one failed left out: 19 judged; those at 1,000 and
    // 10,000 connections are 30 % off on throughput, the rest 60 % off on p99.
    assert_eq!(data.on_target(), (0, 19));
    assert!(w.title.contains("0 of 19"), "title: {}", w.title);
}
