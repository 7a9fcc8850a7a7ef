//! Debian's apache2 with mpm_prefork or mpm_event, serving the static page from a private
//! config (the modules come from Debian's package; no file under /etc/apache2 is read).
//!
//! The pool sizes are Debian's defaults (mods-available/mpm_*.conf), with one change: every
//! process is started up front (StartServers = MaxRequestWorkers / ServerLimit and no spare
//! reaping), because the simulator does not model Apache's process spawning rate (one per
//! second, doubling up to 32) and a grid point should not measure it.

use std::path::Path;
use std::process::Command;

use super::{find_binary, is_root, static_root, write};
use crate::kind::ServerKind;

/// prefork's processes and event's threads in all: Debian's `MaxRequestWorkers 150`.
pub const MAX_REQUEST_WORKERS: u32 = 150;
/// Requests a keep-alive connection may carry before Apache closes it (Debian's default).
pub const MAX_KEEPALIVE_REQUESTS: u32 = 100;
/// Worker threads per event process (Debian's `ThreadsPerChild 25`).
pub const THREADS_PER_CHILD: u32 = 25;
/// Event processes: MaxRequestWorkers / ThreadsPerChild.
pub const EVENT_PROCESSES: u32 = MAX_REQUEST_WORKERS / THREADS_PER_CHILD;

/// The apache2 command for `kind`'s config written into `dir`, on 127.0.0.1:`port`.
pub fn command(kind: ServerKind, dir: &Path, port: u16) -> anyhow::Result<Command> {
    let binary = find_binary(&["/usr/sbin/apache2"], "apache2")?;
    let modules = Path::new("/usr/lib/apache2/modules");
    let root = static_root(dir)?;
    let d = dir.display();
    let mpm = match kind {
        ServerKind::ApacheEvent => format!(
            "LoadModule mpm_event_module {m}/mod_mpm_event.so\n\
             ServerLimit {p}\n\
             StartServers {p}\n\
             ThreadLimit {t}\n\
             ThreadsPerChild {t}\n\
             MinSpareThreads {w}\n\
             MaxSpareThreads {w}\n\
             MaxRequestWorkers {w}\n\
             MaxConnectionsPerChild 0\n",
            m = modules.display(),
            p = EVENT_PROCESSES,
            t = THREADS_PER_CHILD,
            w = MAX_REQUEST_WORKERS,
        ),
        _ => format!(
            "LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so\n\
             ServerLimit {w}\n\
             StartServers {w}\n\
             MinSpareServers {w}\n\
             MaxSpareServers {w}\n\
             MaxRequestWorkers {w}\n\
             MaxConnectionsPerChild 0\n",
            m = modules.display(),
            w = MAX_REQUEST_WORKERS,
        ),
    };
    let user = if is_root() {
        "User www-data\nGroup www-data\n"
    } else {
        ""
    };
    let config = format!(
        "# Written by testbed; not Debian's /etc/apache2.\n\
         ServerRoot {d}\n\
         ServerName 127.0.0.1\n\
         PidFile {d}/apache2.pid\n\
         ErrorLog {d}/error.log\n\
         LogLevel warn\n\
         DefaultRuntimeDir {d}\n\
         Mutex file:{d} default\n\
         {user}\
         {mpm}\
         LoadModule authz_core_module {m}/mod_authz_core.so\n\
         Listen 127.0.0.1:{port}\n\
         ListenBacklog 4096\n\
         Timeout 300\n\
         KeepAlive On\n\
         MaxKeepAliveRequests {MAX_KEEPALIVE_REQUESTS}\n\
         KeepAliveTimeout 5\n\
         DocumentRoot {root}\n\
         <Directory {root}>\n\
         \x20 Require all granted\n\
         </Directory>\n",
        m = modules.display(),
        root = root.display(),
    );
    let conf = write(dir, "apache2.conf", &config)?;
    let mut command = Command::new(binary);
    command.arg("-f").arg(conf).arg("-DFOREGROUND");
    // Debian's apache2 reads its run-time directories from the environment when its config
    // names them; ours does not, but an inherited APACHE_CONFDIR must not point it at /etc.
    command.env_remove("APACHE_CONFDIR");
    Ok(command)
}
