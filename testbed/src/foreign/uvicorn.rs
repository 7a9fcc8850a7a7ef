//! W2's FastAPI app under uvicorn: `/sleep/{seconds}` as a plain `def` calling `time.sleep`
//! (FastAPI runs it on its 40-thread pool) or as `async def` awaiting `asyncio.sleep` (on the
//! event loop), from the venv of `testbed/requirements.txt`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::write;
use crate::error::usage;
use crate::kind::ServerKind;

/// What W2 requests: `/sleep/0.1`.
pub const SLEEP: Duration = Duration::from_millis(100);

/// The path of W2's request.
pub const PATH: &str = "/sleep/0.1";

/// The venv `.ci/run` creates, used when neither `--venv` nor `$SWITCHCOST_VENV` is given.
pub const DEFAULT_VENV: &str = "/tmp/switchcost-venv";

/// W2's two endpoints, one app each so a kind serves exactly one of them.
const APP: &str = r#"# Written by testbed: W2's FastAPI app (see shared workloads, W2).
import asyncio
import time

from fastapi import FastAPI

app_def = FastAPI()
app_async = FastAPI()


@app_def.get("/sleep/{seconds}")
def sleep_def(seconds: float):
    time.sleep(seconds)
    return {"slept": seconds}


@app_async.get("/sleep/{seconds}")
async def sleep_async(seconds: float):
    await asyncio.sleep(seconds)
    return {"slept": seconds}
"#;

/// The uvicorn command for `kind`, with the app written into `dir`, on 127.0.0.1:`port`.
///
/// One worker process, no access log (the other servers write none either), uvicorn's default
/// event loop and HTTP parser as installed by the pinned requirements.
pub fn command(kind: ServerKind, dir: &Path, port: u16, venv: &Path) -> anyhow::Result<Command> {
    let python = venv.join("bin/python");
    let fix = format!(
        "python3 -m venv {v} && {v}/bin/pip install -r testbed/requirements.txt \
         (or give another venv with --venv or SWITCHCOST_VENV)",
        v = venv.display()
    );
    if !python.is_file() {
        return Err(usage(format!(
            "{kind} needs a Python venv with FastAPI and uvicorn; {} has no bin/python. \
             Create it: {fix}",
            venv.display()
        )));
    }
    let check = Command::new(&python)
        .args(["-c", "import fastapi, uvicorn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(check, Ok(s) if s.success()) {
        return Err(usage(format!(
            "{kind}: the venv {} lacks fastapi or uvicorn; install them: {fix}",
            venv.display()
        )));
    }
    write(dir, "w2.py", APP)?;
    let app = match kind {
        ServerKind::UvicornDef => "w2:app_def",
        _ => "w2:app_async",
    };
    let mut command = Command::new(python);
    command
        .args(["-m", "uvicorn", app, "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args([
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ])
        .arg("--app-dir")
        .arg(dir)
        .arg("--backlog")
        .arg("4096");
    Ok(command)
}
