//! Debian's nginx with one worker, serving the static page from a private config.

use std::path::Path;
use std::process::Command;

use super::{find_binary, is_root, static_root, write};

/// The nginx command for a config written into `dir`, listening on 127.0.0.1:`port`.
///
/// One worker process (the master only starts and watches it). Debian's defaults otherwise:
/// `keepalive_requests` 1000, `keepalive_timeout` 65 s. No access log: the in-tree servers
/// write none either, so the figures compare serving, not logging.
pub fn command(dir: &Path, port: u16) -> anyhow::Result<Command> {
    let binary = find_binary(&["/usr/sbin/nginx"], "nginx")?;
    let root = static_root(dir)?;
    let d = dir.display();
    // As root the worker drops to nobody; it only needs to read the page.
    let user = if is_root() {
        "user nobody nogroup;\n"
    } else {
        ""
    };
    let config = format!(
        "# Written by testbed; not Debian's /etc/nginx.\n\
         {user}daemon off;\n\
         worker_processes 1;\n\
         worker_rlimit_nofile 65536;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 20000; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 default_type text/html;\n\
         \x20 client_body_temp_path {d}/body;\n\
         \x20 proxy_temp_path {d}/proxy;\n\
         \x20 fastcgi_temp_path {d}/fastcgi;\n\
         \x20 uwsgi_temp_path {d}/uwsgi;\n\
         \x20 scgi_temp_path {d}/scgi;\n\
         \x20 server {{\n\
         \x20   listen 127.0.0.1:{port} backlog=4096;\n\
         \x20   root {root};\n\
         \x20 }}\n\
         }}\n",
        root = root.display(),
    );
    let conf = write(dir, "nginx.conf", &config)?;
    let mut command = Command::new(binary);
    command
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(conf);
    Ok(command)
}
