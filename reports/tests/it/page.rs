//! `index.html` references every chart's files, and each referenced file exists.

use reports::chart::write;
use reports::page::{self, PageInfo};

use crate::sample;

#[test]
fn the_page_references_every_file_and_marks_its_images() {
    let dir = tempfile::tempdir().unwrap();
    let footer = "sample data";
    let charts = vec![
        write(&sample::costs(), dir.path(), footer).unwrap(),
        write(&sample::switches(), dir.path(), footer).unwrap(),
        write(&sample::connections(), dir.path(), footer).unwrap(),
        write(&sample::fastapi(), dir.path(), footer).unwrap(),
        write(&sample::recipe(), dir.path(), footer).unwrap(),
        write(&sample::websockets(), dir.path(), footer).unwrap(),
        write(&sample::cores(), dir.path(), footer).unwrap(),
        write(&sample::pricing(), dir.path(), footer).unwrap(),
        write(&sample::cpu(), dir.path(), footer).unwrap(),
    ];
    let info = PageInfo {
        machine: "Test <CPU>, 2 cores".into(),
        date: page::now(),
        costs_source: "sample data".into(),
        skipped: vec![("10-extra".into(), "no data".into())],
        ..PageInfo::default()
    };
    let path = page::write(dir.path(), &charts, &info).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();

    for c in &charts {
        for file in [&c.svg, &c.png, &c.csv] {
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(
                html.contains(&format!("href=\"{name}\"")),
                "no link to {name}"
            );
            assert!(file.is_file(), "{name} is referenced but missing");
        }
        let png = c.png.file_name().unwrap().to_str().unwrap();
        assert!(
            html.contains(&format!("<img src=\"{png}\"")),
            "no image {png}"
        );
        assert!(
            html.contains(&page::escape(&c.caption)),
            "caption of {} missing",
            c.stem
        );
    }
    assert_eq!(html.matches("<img ").count(), charts.len());
    assert_eq!(html.matches("<table>").count(), charts.len());
    // Every src and href on the page resolves to a file in the directory (or an anchor).
    for attr in ["src=\"", "href=\""] {
        for piece in html.split(attr).skip(1) {
            let target = &piece[..piece.find('"').unwrap()];
            if !target.starts_with('#') {
                assert!(dir.path().join(target).is_file(), "{target} does not exist");
            }
        }
    }
    assert!(html.contains("Test &lt;CPU&gt;, 2 cores"));
    assert!(html.contains("data-images"));
    assert!(html.contains("10-extra"));
}
