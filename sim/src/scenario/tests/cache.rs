//! Working sets, cache keys, the LIFO slot, the timer thread and the line-latency curve, as the
//! parser reads them.

use super::*;

#[test]
fn working_sets_and_cache_keys_reach_the_config() {
    let text = EXAMPLE
        .replace("cores = 4\n", "cores = 4\nl3_shared_by = 2\n")
        .replace(
            "task_switch = \"50ns\"",
            "task_switch = \"50ns\"\ncache_l2 = \"4MiB\"\nrefill_l3_per_line = \"45ns\"",
        )
        .replace("[request]\n", "[request]\nworking_set = \"256KiB\"\n")
        .replace(
            "{ cpu = \"200us\" }",
            "{ cpu = \"200us\", working_set = \"1MiB\" }",
        )
        .replace(
            "quantum = \"10ms\"",
            "quantum = \"10ms\"\nstack_working_set = \"8KiB\"",
        );
    let scenario = parse(&text).unwrap();
    let servers: Vec<_> = scenario.servers().collect();
    let config = &servers[0].config;
    assert_eq!(config.l3_shared_by, Some(2));
    assert_eq!(config.costs.cache_l2, 4 * 1024 * 1024);
    assert_eq!(config.costs.refill_l3_per_line, 45);
    assert_eq!(
        config.costs.cache_l1d,
        Costs::default().cache_l1d,
        "the reference value"
    );
    let sets: Vec<u64> = config.steps.iter().map(|s| s.working_set).collect();
    // The request's default for the first cpu step, none for the io step, the step's own.
    assert_eq!(sets, [256 * 1024, 0, 1024 * 1024]);
    assert_eq!(config.costs.stack_working_set, 0);
    assert_eq!(servers[2].config.costs.stack_working_set, 8 * 1024);
    // Nothing given: no working set anywhere, and all cores share the L3.
    let plain = parse(EXAMPLE).unwrap();
    let config = &plain.servers().next().unwrap().config;
    assert_eq!(config.l3_shared_by, None);
    assert!(config.steps.iter().all(|s| s.working_set == 0));
}

#[test]
fn a_working_set_on_an_io_step_or_without_a_unit_is_refused() {
    let io = EXAMPLE.replace("pool = \"db\" }", "pool = \"db\", working_set = \"1MiB\" }");
    let (line, _, message) = error_at(&io);
    assert_eq!(line, 22);
    assert!(message.contains("cpu steps"), "{message}");
    let bare = EXAMPLE.replace("[request]\n", "[request]\nworking_set = \"256\"\n");
    let (_, _, message) = error_at(&bare);
    assert!(message.contains("working_set"), "{message}");
    let zero = EXAMPLE.replace("cores = 4\n", "cores = 4\nl3_shared_by = 0\n");
    let (_, _, message) = error_at(&zero);
    assert!(message.contains("l3_shared_by"), "{message}");
}

#[test]
fn the_lifo_slot_is_on_for_shared_loops_and_an_error_with_affinity() {
    let lifo = |text: &str| {
        let configs = parse(text)
            .unwrap()
            .run_configs(&Overrides::default())
            .unwrap();
        match configs[0].server.model {
            Model::Cooperative { lifo_slot, .. } => lifo_slot,
            _ => panic!("not cooperative"),
        }
    };
    assert!(lifo(EXAMPLE));
    let off = EXAMPLE.replace(
        "balance = \"shared\"",
        "balance = \"shared\"\nlifo_slot = false",
    );
    assert!(!lifo(&off));
    let affinity = EXAMPLE.replace("balance = \"shared\"", "balance = \"affinity\"");
    assert!(!lifo(&affinity));
    let (_, _, message) = error_at(&affinity.replace(
        "balance = \"affinity\"",
        "balance = \"affinity\"\nlifo_slot = true",
    ));
    assert!(message.contains("balance = \"shared\""), "{message}");
    // Other models do not have the key.
    let (_, _, message) =
        error_at(&EXAMPLE.replace("threads = 40 ", "threads = 40\nlifo_slot = true\n"));
    assert!(message.contains("lifo_slot"), "{message}");
}

#[test]
fn the_timer_thread_is_off_unless_asked_and_only_for_event_loops() {
    let timer = |text: &str| {
        let configs = parse(text)
            .unwrap()
            .run_configs(&Overrides::default())
            .unwrap();
        match configs[0].server.model {
            Model::Cooperative { timer_thread, .. } => timer_thread,
            _ => panic!("not cooperative"),
        }
    };
    assert!(!timer(EXAMPLE));
    let on = EXAMPLE.replace(
        "balance = \"shared\"",
        "balance = \"shared\"\ntimer_thread = true",
    );
    assert!(timer(&on));
    let (_, _, message) = error_at(&EXAMPLE.replace(
        "balance = \"shared\"",
        "balance = \"affinity\"\ntimer_thread = true",
    ));
    assert!(message.contains("balance = \"shared\""), "{message}");
    let (_, _, message) =
        error_at(&EXAMPLE.replace("threads = 40 ", "threads = 40\ntimer_thread = true\n"));
    assert!(message.contains("timer_thread"), "{message}");
    // A value that is not a bool is located at its `[[server]]` table (serde reports a type
    // error inside the tagged table there, as for every server key).
    let wrong = EXAMPLE.replace(
        "balance = \"shared\"",
        "balance = \"shared\"\ntimer_thread = \"yes\"",
    );
    let (line, _, message) = error_at(&wrong);
    let table = wrong.lines().position(|l| l == "[[server]]").unwrap();
    assert_eq!(line, table + 1, "{message}");
    assert!(message.contains("boolean"), "{message}");
}

/// `line_latency` is a curve in `[costs]`: read as points, and every bad curve (unsorted,
/// negative, empty, a string) is an error at its line that says what to write.
#[test]
fn a_line_latency_curve_is_read_and_bad_ones_are_located() {
    let with = |curve: &str| {
        EXAMPLE.replace(
            "task_switch = \"50ns\"",
            &format!("task_switch = \"50ns\"\nline_latency = {curve}"),
        )
    };
    let scenario = parse(&with("[[4096, 1.7], [65536, 6.3], [16777216, 167.5]]")).unwrap();
    let config = &scenario.servers().next().unwrap().config;
    assert_eq!(
        config.costs.line_latency.points(),
        &[(4096, 1.7), (65536, 6.3), (16777216, 167.5)]
    );
    assert!(
        parse(EXAMPLE)
            .unwrap()
            .servers()
            .next()
            .unwrap()
            .config
            .costs
            .line_latency
            .is_empty(),
        "no curve unless given: the level formula"
    );
    for (curve, says) in [
        ("[[65536, 6.3], [4096, 1.7]]", "growing working set"),
        ("[[4096, -1.7]]", "at least 0"),
        ("[]", "at least one"),
        ("\"1.7ns\"", "list of [bytes, ns] points"),
    ] {
        let (line, _, message) = error_at(&with(curve));
        assert_eq!(line, 11, "{curve}: {message}");
        assert!(message.contains(says), "{curve}: {message}");
        assert!(message.contains("line_latency = [["), "{curve}: {message}");
    }
    let in_server = EXAMPLE.replace(
        "label = \"event loop\"\n",
        "label = \"event loop\"\nline_latency = [[4096, 1.7]]\n",
    );
    let (_, _, message) = error_at(&in_server);
    assert!(message.contains("describes the machine"), "{message}");
}
