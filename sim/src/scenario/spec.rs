//! The file as written: serde types with spans, strings with units, before any checking.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A string with its place in the file.
pub(super) type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSpec {
    pub(super) name: Text,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) seed: Option<u64>,
    #[serde(default)]
    pub(super) max_events: Option<Spanned<i64>>,
    pub(super) machine: MachineSpec,
    #[serde(default)]
    pub(super) costs: CostsSpec,
    pub(super) load: LoadSpec,
    pub(super) request: RequestSpec,
    #[serde(default)]
    pub(super) pools: BTreeMap<String, Spanned<i64>>,
    /// Read as plain tables first: their cost keys are taken out by name (the cost table),
    /// and the rest is read as a [`ServerSpec`].
    pub(super) server: Vec<toml::Table>,
    #[serde(default)]
    pub(super) pricing: Option<BTreeMap<String, Spanned<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MachineSpec {
    pub(super) cores: Spanned<i64>,
    pub(super) scheduler: Option<Text>,
    pub(super) hz: Option<Spanned<i64>>,
    pub(super) preempt: Option<Text>,
    pub(super) hrtick: Option<Spanned<bool>>,
    pub(super) l3_shared_by: Option<Spanned<i64>>,
}

impl MachineSpec {
    /// Its kernel keys.
    pub(super) fn kernel(&self) -> KernelSpec {
        KernelSpec {
            scheduler: self.scheduler.clone(),
            hz: self.hz.clone(),
            preempt: self.preempt.clone(),
            hrtick: self.hrtick.clone(),
        }
    }
}

/// The `[machine]` table of a `--costs` file (what `calibrate --out` writes): the kernel keys,
/// no core count (that belongs to the scenario).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KernelSpec {
    pub(super) scheduler: Option<Text>,
    pub(super) hz: Option<Spanned<i64>>,
    pub(super) preempt: Option<Text>,
    pub(super) hrtick: Option<Spanned<bool>>,
}

/// A `[costs]` table (of a scenario or a `--costs` file): any keys, checked against the cost
/// table (`crate::cost::KEYS`) so that an unknown key is reported with the known ones.
pub(super) type CostsSpec = BTreeMap<String, Spanned<toml::Value>>;

/// An integer count or a string with a unit (`warmup = 20000` or `warmup = "10s"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum CountOrText {
    Count(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoadSpec {
    pub(super) kind: Text,
    pub(super) rate: Option<Spanned<f64>>,
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) think: Option<Text>,
    pub(super) requests: Option<Spanned<i64>>,
    pub(super) duration: Option<Text>,
    pub(super) warmup: Option<Spanned<CountOrText>>,
    pub(super) rtt: Option<Text>,
    pub(super) maxconn: Option<Spanned<i64>>,
    pub(super) file: Option<Text>,
    pub(super) connections: Option<Spanned<i64>>,
    pub(super) interval: Option<Text>,
    pub(super) broadcast_at: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestSpec {
    pub(super) steps: Spanned<Vec<Spanned<StepSpec>>>,
    /// The working set of every cpu step that does not give its own.
    pub(super) working_set: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StepSpec {
    pub(super) cpu: Option<Text>,
    pub(super) io: Option<Text>,
    pub(super) pool: Option<Text>,
    pub(super) parallel: Option<Spanned<i64>>,
    pub(super) blocking: Option<bool>,
    pub(super) working_set: Option<Text>,
}

/// `threads = 40` or `threads = "unbounded"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum ThreadsSpec {
    Count(i64),
    Word(String),
}

/// The keys every `[[server]]` takes, whatever its model, followed by the model's own (the
/// cost keys are taken out before, see [`FileSpec::server`]).
macro_rules! server_spec {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            pub(super) label: String,
            pub(super) cores: Option<i64>,
            pub(super) machines: Option<i64>,
            pub(super) proxy: Option<ProxySpec>,
            #[serde(default)]
            pub(super) published: BTreeMap<String, f64>,
            pub(super) steps: Option<Vec<ServerStepSpec>>,
            $(pub(super) $field: $ty,)*
        }

        impl $name {
            pub(super) fn common(&self) -> Common<'_> {
                Common {
                    label: &self.label,
                    cores: self.cores,
                    machines: self.machines,
                    proxy: self.proxy.as_ref(),
                    published: &self.published,
                    steps: self.steps.as_deref(),
                }
            }
        }
    };
}

server_spec!(ThreadSpec {
    threads: Option<ThreadsSpec>,
    quantum: Option<String>,
    backlog: Option<i64>,
    processes: Option<i64>,
    gil: Option<bool>,
    gil_switch_interval: Option<String>,
    keepalive: Option<bool>,
    keepalive_requests: Option<i64>,
});

server_spec!(PreemptiveSpec {
    workers: Option<i64>,
    quantum: Option<String>,
});

server_spec!(CooperativeSpec {
    loops: Option<i64>,
    balance: Option<String>,
    offload: Option<i64>,
    lifo_slot: Option<bool>,
    timer_thread: Option<bool>,
});

#[derive(Debug, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub(super) enum ServerSpec {
    ThreadPerRequest(ThreadSpec),
    Preemptive(PreemptiveSpec),
    Cooperative(CooperativeSpec),
}

/// A step in a server's own `steps` (no spans: see [`Source::at_server`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerStepSpec {
    pub(super) cpu: Option<String>,
    pub(super) io: Option<String>,
    pub(super) pool: Option<String>,
    pub(super) parallel: Option<i64>,
    pub(super) blocking: Option<bool>,
    pub(super) working_set: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProxySpec {
    pub(super) cpu: String,
}

pub(super) struct Common<'a> {
    pub(super) label: &'a str,
    pub(super) cores: Option<i64>,
    pub(super) machines: Option<i64>,
    pub(super) proxy: Option<&'a ProxySpec>,
    pub(super) published: &'a BTreeMap<String, f64>,
    pub(super) steps: Option<&'a [ServerStepSpec]>,
}
