//! `index.html`: every chart with its caption and data table, the machine and the date.
//!
//! The page shows the PNGs (identical everywhere, font baked in) and links the SVG and CSV of
//! each. A small inline script marks the document once every image has loaded, so a headless
//! browser can tell a broken image from a slow one (`ci/check-page.sh`).

use std::fmt::Write as _;
use std::path::Path;

use crate::chart::Written;
use crate::error::ReportError;

/// What the page says besides the charts.
#[derive(Debug, Clone, Default)]
pub struct PageInfo {
    /// The machine the costs were measured on ("AMD EPYC 7B13, 2 cores, Linux 6.1.0").
    pub machine: String,
    /// When the report was made (UTC, "2026-11-21 23:40 UTC").
    pub date: String,
    /// Where the measured costs came from.
    pub costs_source: String,
    /// The switch and memory costs the simulator ran with, as (name, value with unit).
    pub sim_costs: Vec<(String, String)>,
    /// Charts that could not be made, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Other remarks (measurement warnings).
    pub notes: Vec<String>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The file name of `path` (charts are referenced relative to the page).
fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

const STYLE: &str = "body{font-family:'DejaVu Sans',sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#111}\
h1{font-size:2em;margin-bottom:.2em}h2{font-size:1.4em;margin:1.6em 0 .4em}\
.meta{color:#555}img{width:100%;height:auto;border:1px solid #ddd}\
.caption{font-size:1.05em}.files a{margin-right:1em}\
table{border-collapse:collapse;font-size:.9em;margin:.6em 0 1.4em}\
th,td{border:1px solid #ccc;padding:.2em .6em;text-align:right}th{background:#f3f3f3}\
td:first-child,th:first-child{text-align:left}.skipped{color:#a33}";

/// Marks `<body data-images="ok|broken" data-loaded=N data-total=M>` once every image has
/// settled (loaded or failed).
const CHECK_SCRIPT: &str = "<script>\
function settle(){var imgs=Array.prototype.slice.call(document.images);\
var ok=imgs.filter(function(i){return i.complete&&i.naturalWidth>0;}).length;\
var b=document.body;b.setAttribute('data-total',imgs.length);b.setAttribute('data-loaded',ok);\
b.setAttribute('data-images',ok===imgs.length?'ok':'broken');\
document.getElementById('image-check').textContent=ok+' of '+imgs.length+' images loaded';}\
window.addEventListener('load',settle);</script>";

/// The page's HTML.
pub fn html(charts: &[Written], info: &PageInfo) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>switchcost: what a context switch costs</title><style>{STYLE}</style>{CHECK_SCRIPT}</head>\n<body>\n"
    );
    let _ = writeln!(h, "<h1>switchcost: what a context switch really costs</h1>");
    let _ = writeln!(
        h,
        "<p class=\"meta\">Measured on <b>{}</b> · {} · costs from {} · <span id=\"image-check\">images loading</span></p>",
        escape(&info.machine),
        escape(&info.date),
        escape(&info.costs_source)
    );
    if !info.sim_costs.is_empty() {
        let _ = write!(h, "<p class=\"meta\">The simulator ran with these costs:");
        for (k, v) in &info.sim_costs {
            let _ = write!(h, " {}&nbsp;=&nbsp;{};", escape(k), escape(v));
        }
        let _ = writeln!(h, "</p>");
    }
    for n in &info.notes {
        let _ = writeln!(h, "<p class=\"meta\">{}</p>", escape(n));
    }
    let _ = writeln!(h, "<nav><ol>");
    for c in charts {
        let _ = writeln!(
            h,
            "<li><a href=\"#{}\">{}</a></li>",
            escape(&c.stem),
            escape(&c.title)
        );
    }
    let _ = writeln!(h, "</ol></nav>");
    for c in charts {
        let _ = writeln!(h, "<section id=\"{}\">", escape(&c.stem));
        let _ = writeln!(h, "<h2>{}</h2>", escape(&c.title));
        let _ = writeln!(
            h,
            "<img src=\"{}\" alt=\"{}\" width=\"1920\" height=\"1080\">",
            escape(&name(&c.png)),
            escape(&c.title)
        );
        let _ = writeln!(h, "<p class=\"caption\">{}</p>", escape(&c.caption));
        let _ = writeln!(
            h,
            "<p class=\"files\"><a href=\"{svg}\">{svg}</a><a href=\"{png}\">{png}</a><a href=\"{csv}\">{csv}</a></p>",
            svg = escape(&name(&c.svg)),
            png = escape(&name(&c.png)),
            csv = escape(&name(&c.csv))
        );
        let _ = writeln!(h, "<table><thead><tr>");
        for head in &c.table.headers {
            let _ = write!(h, "<th>{}</th>", escape(head));
        }
        let _ = writeln!(h, "</tr></thead><tbody>");
        for row in &c.table.rows {
            let _ = write!(h, "<tr>");
            for cell in row {
                let _ = write!(h, "<td>{}</td>", escape(&cell.display()));
            }
            let _ = writeln!(h, "</tr>");
        }
        let _ = writeln!(h, "</tbody></table>\n</section>");
    }
    if !info.skipped.is_empty() {
        let _ = writeln!(h, "<h2>Not made this time</h2><ul class=\"skipped\">");
        for (what, why) in &info.skipped {
            let _ = writeln!(h, "<li><b>{}</b>: {}</li>", escape(what), escape(why));
        }
        let _ = writeln!(h, "</ul>");
    }
    let _ = writeln!(h, "</body></html>");
    h
}

/// Writes `index.html` into `dir`.
pub fn write(
    dir: &Path,
    charts: &[Written],
    info: &PageInfo,
) -> Result<std::path::PathBuf, ReportError> {
    let path = dir.join("index.html");
    std::fs::write(&path, html(charts, info)).map_err(|error| ReportError::Io {
        path: path.clone(),
        error,
    })?;
    Ok(path)
}

/// Seconds since the Unix epoch as "YYYY-MM-DD HH:MM UTC" (Howard Hinnant's days-to-civil).
pub fn utc_date(epoch_seconds: u64) -> String {
    let days = (epoch_seconds / 86_400) as i64;
    let secs = epoch_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3_600,
        (secs % 3_600) / 60
    )
}

/// Now, as [`utc_date`] writes it.
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    utc_date(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_795_304_700), "2026-11-21 23:45 UTC");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
