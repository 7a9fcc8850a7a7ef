//! Request steps checked, from `[request]` (with spans) or a server's own `steps` (located by
//! key).

use std::path::Path;

use toml::Spanned;

use crate::config::{Pool, Step, StepKind};
use crate::dist::Dist;
use crate::unit::parse_size;

use super::ScenarioError;
use super::source::{Loc, Source};
use super::spec::{ServerStepSpec, StepSpec, Text};

/// The most concurrent waits one step may fan out to: each is a random draw and an event, so
/// the bound keeps one request's step within reach of any event limit.
pub(crate) const MAX_PARALLEL: i64 = 1_000_000;

/// The most steps a request may have (the engine numbers them in 16 bits).
pub(crate) const MAX_STEPS: usize = u16::MAX as usize;

/// A step as written, from `[request]` (with spans) or a server's `steps` (located by key).
pub(super) struct RawStep {
    whole: Loc,
    cpu: Option<(String, Loc)>,
    io: Option<(String, Loc)>,
    pool: Option<(String, Loc)>,
    parallel: Option<(i64, Loc)>,
    blocking: Option<bool>,
    working_set: Option<(String, Loc)>,
}

impl RawStep {
    pub(super) fn from_spanned(spanned: &Spanned<StepSpec>) -> Self {
        let s = spanned.get_ref();
        let text = |t: &Option<Text>| {
            t.as_ref()
                .map(|t| (t.get_ref().clone(), Loc::Span(t.span())))
        };
        RawStep {
            whole: Loc::Span(spanned.span()),
            cpu: text(&s.cpu),
            io: text(&s.io),
            pool: text(&s.pool),
            parallel: s
                .parallel
                .as_ref()
                .map(|p| (*p.get_ref(), Loc::Span(p.span()))),
            blocking: s.blocking,
            working_set: text(&s.working_set),
        }
    }

    pub(super) fn from_server(index: usize, s: &ServerStepSpec) -> Self {
        let loc = Loc::Server(index, "steps");
        let text = |t: &Option<String>| t.as_ref().map(|t| (t.clone(), loc.clone()));
        RawStep {
            whole: loc.clone(),
            cpu: text(&s.cpu),
            io: text(&s.io),
            pool: text(&s.pool),
            parallel: s.parallel.map(|p| (p, loc.clone())),
            blocking: s.blocking,
            working_set: text(&s.working_set),
        }
    }
}

/// Checks the steps; `working_set` is `[request] working_set` (bytes), the default of every cpu
/// step that does not give its own.
pub(super) fn check_steps(
    raw: &[RawStep],
    whole: &Loc,
    source: &Source,
    base: Option<&Path>,
    pools: &[Pool],
    working_set: u64,
) -> Result<Vec<Step>, ScenarioError> {
    if raw.is_empty() {
        return Err(source.at_loc(
            whole,
            "a request needs at least one step; write e.g. steps = [{ cpu = \"1ms\" }]",
        ));
    }
    if raw.len() > MAX_STEPS {
        return Err(source.at_loc(
            whole,
            &format!(
                "a request has at most {MAX_STEPS} steps, not {}; merge consecutive steps of the same kind",
                raw.len()
            ),
        ));
    }
    let mut steps = Vec::new();
    for spec in raw {
        let (kind, (text, loc)) = match (&spec.cpu, &spec.io) {
            (Some(cpu), None) => (StepKind::Cpu, cpu),
            (None, Some(io)) => (StepKind::Io, io),
            _ => {
                return Err(source.at_loc(
                    &spec.whole,
                    "a step is either { cpu = \"...\" } (needs a core) or { io = \"...\" } (a wait); give exactly one of cpu and io",
                ));
            }
        };
        let duration = Dist::parse(text, base).map_err(|e| source.at_loc(loc, &e.to_string()))?;
        let pool = match &spec.pool {
            Some((name, loc)) => Some(pools.iter().position(|p| p.name == *name).ok_or_else(
                || {
                    let defined: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
                    source.at_loc(
                        loc,
                        &format!(
                            "pool {name:?} is not defined; add it under [pools] (e.g. {name} = 25){}",
                            if defined.is_empty() {
                                String::new()
                            } else {
                                format!(" or use one of: {}", defined.join(", "))
                            }
                        ),
                    )
                },
            )?),
            None => None,
        };
        let parallel = match &spec.parallel {
            Some((k, loc)) => {
                if !(1..=MAX_PARALLEL).contains(k) {
                    return Err(source.at_loc(
                        loc,
                        &format!(
                            "parallel must be between 1 and {MAX_PARALLEL} concurrent waits, not {k}"
                        ),
                    ));
                }
                if kind == StepKind::Cpu && *k > 1 {
                    return Err(source.at_loc(
                        loc,
                        "parallel applies to io steps (concurrent waits); split CPU work into separate cpu steps",
                    ));
                }
                *k as u32
            }
            None => 1,
        };
        let blocking = spec.blocking.unwrap_or(false);
        if blocking && kind == StepKind::Cpu {
            return Err(source.at_loc(
                &spec.whole,
                "blocking applies to io steps (a wait that holds its OS thread); remove it from this cpu step",
            ));
        }
        let working_set = match &spec.working_set {
            Some((_, loc)) if kind == StepKind::Io => {
                return Err(source.at_loc(
                    loc,
                    "working_set applies to cpu steps (the data the computation touches); remove it from this io step",
                ));
            }
            Some((text, loc)) => parse_working_set(text, loc, source)?,
            None if kind == StepKind::Cpu => working_set,
            None => 0,
        };
        steps.push(Step {
            kind,
            duration,
            pool,
            parallel,
            blocking,
            working_set,
        });
    }
    Ok(steps)
}

/// A working set as written (`"256KiB"`), in bytes.
pub(super) fn parse_working_set(
    text: &str,
    loc: &Loc,
    source: &Source,
) -> Result<u64, ScenarioError> {
    parse_size(text).map_err(|e| {
        source.at_loc(
            loc,
            &format!("working_set: {e}; write a size such as \"256KiB\""),
        )
    })
}
