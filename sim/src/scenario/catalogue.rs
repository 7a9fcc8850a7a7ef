//! The built-in catalogue: the scenario files embedded in the binary (`sim list`, `sim show`).

/// A scenario embedded in the binary (`sim list`, `sim show NAME`).
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its name, as `sim run NAME` takes it.
    pub name: &'static str,
    /// The file's one-line description.
    pub description: &'static str,
    /// The whole TOML file.
    pub toml: &'static str,
}

macro_rules! builtin {
    ($name:literal, $description:literal) => {
        Builtin {
            name: $name,
            description: $description,
            toml: include_str!(concat!("../../scenarios/", $name, ".toml")),
        }
    };
}

static BUILTINS: &[Builtin] = &[
    builtin!(
        "talk-count-switches",
        "W1: an add-2-plus-2 endpoint behind a local proxy; context switches per request on 1 vs 2 cores"
    ),
    builtin!(
        "talk-apache-vs-nginx",
        "W1: thread-per-connection vs event workers as keep-alive connections rise; throughput and memory"
    ),
    builtin!(
        "fastapi-sleep",
        "W2: ab -n1000 -c100 against a 0.1 s sleep; def (40-thread pool) vs async def (one event loop)"
    ),
    builtin!(
        "recipe-api",
        "W3: Django sync vs Starlette async vs axum behind haproxy maxconn 25 on 2 vCPUs, 50 clients"
    ),
    builtin!(
        "websocket-100k",
        "W4: 100,000 mostly idle WebSocket connections and one broadcast; memory and delivery latency"
    ),
    builtin!(
        "concurrency-tests",
        "W5: a handler gathering upstream JSON documents; gevent vs uvloop + FastAPI, CPU per stack"
    ),
    builtin!(
        "scale-up-vs-out",
        "W1: one bigger VM vs several 4-core VMs at the talk's list prices; dollars per million requests"
    ),
];

/// The built-in scenarios, in the order `sim list` shows them.
pub fn builtins() -> &'static [Builtin] {
    BUILTINS
}

/// A built-in scenario by name.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}
