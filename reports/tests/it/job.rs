//! The whole job, end to end on `--quick`: every chart is made from real measurements and
//! simulations, and the page references each of them. One test runs the job, so that only one
//! calibrate pass runs at a time in this binary (two at once disturb each other's memory fits);
//! what a chart's values must show is checked on committed costs, not on the live pass.

use clap::Parser;
use reports::cli::Args;

#[test]
fn quick_run_makes_every_chart_and_a_page_that_references_them() {
    let dir = tempfile::tempdir().unwrap();
    let gallery = tempfile::tempdir().unwrap();
    let args = Args::parse_from([
        "reports",
        "--quick",
        "--quiet",
        "--gallery",
        "--out",
        dir.path().to_str().unwrap(),
        "--gallery-dir",
        gallery.path().to_str().unwrap(),
        // No Criterion results here: the job must measure with a calibrate pass.
        "--from-criterion",
        dir.path().join("no-criterion").to_str().unwrap(),
    ]);
    let summary = reports::job::run(&args).unwrap();
    assert!(summary.skipped.is_empty(), "skipped: {:?}", summary.skipped);
    let stems: Vec<&str> = summary.charts.iter().map(|c| c.stem.as_str()).collect();
    assert_eq!(
        stems,
        [
            "01-costs",
            "02-switches",
            "03-connections",
            "04-fastapi",
            "05-recipe",
            "06-websockets",
            "07-cores",
            "08-pricing",
            "09-cpu",
            "10-testbed",
            "11-slowdown"
        ]
    );
    // The quick pass measures working sets only up to 2 x L2, and chart 1 says so.
    let costs = &summary.charts[0];
    assert!(
        costs.caption.contains("stops at") || costs.caption.contains("committed reference"),
        "caption: {}",
        costs.caption
    );
    let html = std::fs::read_to_string(&summary.page).unwrap();
    for c in &summary.charts {
        for f in [&c.png, &c.svg, &c.csv] {
            let name = f.file_name().unwrap().to_str().unwrap();
            assert!(html.contains(name), "page lacks {name}");
            assert!(f.is_file());
        }
    }
    assert!(
        html.contains("quick calibrate pass"),
        "the page must say where the costs came from"
    );
    assert!(dir.path().join("costs.toml").is_file());
    assert_eq!(summary.gallery.len(), reports::job::GALLERY.len());
    for g in &summary.gallery {
        let size = std::fs::metadata(g).unwrap().len();
        assert!(
            size > 10_000 && size < 512 * 1024,
            "{} is {size} bytes",
            g.display()
        );
    }

    let switches = summary
        .charts
        .iter()
        .find(|c| c.stem == "02-switches")
        .unwrap();
    let per_request = crate::render::csv_column(&switches.csv, "context_switches_per_request");
    // The values depend on this run's live costs (a loaded machine moves them); their shape on
    // committed costs is `w1_switches_twice_per_request_on_one_core_almost_never_on_two`.
    assert_eq!(per_request.len(), 2);
    let table = switches
        .table
        .column("context_switches_per_request")
        .unwrap();
    assert_eq!(
        table.iter().filter_map(|c| c.num()).collect::<Vec<_>>(),
        per_request
    );
}

/// Chart 2's data on committed costs (the testbed grid's `calibrate` table of 2026-12-01), so
/// that the shape does not depend on what the live machine measures: W1 switches about twice
/// per request on one core and almost never on two.
#[test]
fn w1_switches_twice_per_request_on_one_core_almost_never_on_two() {
    let costs_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testbed/results/2026-12-01-xeon-2c.costs.toml");
    let sim = reports::gather::Sim {
        costs: sim::scenario::CostOverrides::read_file(&costs_file).unwrap(),
        costs_file,
        quick: true,
    };
    let switches =
        reports::gather::switches(&sim, &reports::progress::Progress::new(0, true)).unwrap();
    let per_request: Vec<f64> = switches
        .rows
        .iter()
        .map(|r| r.switches_per_request)
        .collect();
    assert_eq!(per_request.len(), 2);
    assert!((per_request[0] - 2.0).abs() < 0.2, "{per_request:?}");
    assert!(per_request[1] < 0.2, "{per_request:?}");
}
