use super::*;

#[test]
fn every_field_of_costs_has_exactly_one_row() {
    let json = serde_json::to_value(Costs::default()).unwrap();
    let mut fields: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
    fields.sort_unstable();
    names.sort_unstable();
    assert_eq!(fields, names);
    // Each row reaches its own field: give every key a distinct value and read them back
    // through the serialized names.
    let mut costs = Costs::default();
    for (i, k) in KEYS.iter().enumerate() {
        k.set(&mut costs, 1_000 + i as u64);
    }
    let json = serde_json::to_value(costs).unwrap();
    for (i, k) in KEYS.iter().enumerate() {
        if matches!(k.unit, Unit::Curve | Unit::Bins) {
            assert_eq!(json[k.name], serde_json::json!([]), "{}", k.name);
        } else {
            assert_eq!(json[k.name], 1_000 + i as u64, "{}", k.name);
        }
    }
    let key = key("line_latency").unwrap();
    let curve = LineLatency::new(&[(4096, 1.5), (1 << 20, 9.0)]).unwrap();
    key.put(&mut costs, CostValue::Curve(curve));
    assert_eq!(key.curve(&costs), curve);
    assert_eq!(
        serde_json::to_value(costs).unwrap()["line_latency"][1][1],
        9.0
    );
    let key = super::key("interruptions").unwrap();
    let bins = Interruptions::new(&[(2_000, 300.0), (30_000, 250.0)]).unwrap();
    key.put(&mut costs, CostValue::Bins(bins));
    assert_eq!(key.bins(&costs), bins);
    assert_eq!(
        serde_json::to_value(costs).unwrap()["interruptions"][1],
        serde_json::json!([30_000, 250.0])
    );
}

#[test]
fn a_key_reads_its_own_kind_of_value() {
    let table: toml::Table = toml::from_str(
        "a = \"1.5us\"\nb = [[4096, 2.0], [8192, 3]]\nc = 3\nd = [[8192, 2.0], [4096, 3.0]]",
    )
    .unwrap();
    let switch = key("thread_switch").unwrap();
    let curve = key("line_latency").unwrap();
    assert_eq!(switch.read(&table["a"]), Ok(CostValue::Number(1_500)));
    let message = switch.read(&table["c"]).unwrap_err();
    assert!(message.contains("not integer"), "{message}");
    let read = curve.read(&table["b"]).unwrap();
    let CostValue::Curve(c) = read else {
        panic!("{read:?}")
    };
    assert_eq!(c.points(), &[(4096, 2.0), (8192, 3.0)]);
    for bad in ["a", "c", "d"] {
        let message = curve.read(&table[bad]).unwrap_err();
        assert!(message.starts_with("line_latency: "), "{message}");
        assert!(
            message.contains("write e.g. line_latency = [["),
            "{message}"
        );
    }
    let mut o = CostOverrides::default();
    o.put(curve, read);
    assert_eq!(o.get("line_latency"), None);
    assert_eq!(o.value("line_latency"), Some(read));
    assert_eq!(o.apply(Costs::default()).line_latency, c);
    assert!(Costs::default().line_latency.is_empty());
}

#[test]
fn calibrate_json_gives_each_key_its_text() {
    let json = serde_json::json!({
        "thread_switch_same_core_ns": 1400.0,
        "line_latency_ns": [[4096, 1.7329999], [65536, 6.3]],
        "interruptions": [[2512.4, 340.25], [31000.0, 270.0]],
    });
    let format = |_: Unit, v: f64| format!("{v}ns");
    let switch = key("thread_switch").unwrap();
    assert_eq!(
        switch.measured_text(&json, format).as_deref(),
        Some("\"1400ns\"")
    );
    let curve = key("line_latency").unwrap();
    assert_eq!(
        curve.measured_text(&json, format).as_deref(),
        Some("[[4096, 1.733], [65536, 6.300]]")
    );
    assert_eq!(
        key("interruptions")
            .unwrap()
            .measured_text(&json, format)
            .as_deref(),
        Some("[[2512, 340.25], [31000, 270.00]]")
    );
    assert_eq!(
        key("task_switch").unwrap().measured_text(&json, format),
        None
    );
    let nothing = serde_json::json!({ "line_latency_ns": null });
    assert_eq!(curve.measured_text(&nothing, format), None);
}

#[test]
fn the_reference_values_are_the_published_calibration() {
    let c = Costs::default();
    assert_eq!(c.thread_switch, 1_500);
    assert_eq!(c.thread_wakeup, 5_000);
    assert_eq!(c.thread_memory, 19_968);
    assert_eq!(c.process_memory, 0);
}

#[test]
fn every_default_survives_its_own_format() {
    for k in KEYS
        .iter()
        .filter(|k| !matches!(k.unit, Unit::Curve | Unit::Bins))
    {
        assert_eq!(
            k.unit.parse(&k.unit.format(k.default)),
            Ok(k.default),
            "{k:?}"
        );
    }
}

#[test]
fn an_unknown_key_is_refused_with_the_known_ones() {
    let mut o = CostOverrides::default();
    let message = o.set_named("proces_memory", 1).unwrap_err();
    assert!(message.contains("\"proces_memory\""), "{message}");
    for k in KEYS {
        assert!(message.contains(k.name), "{message}");
    }
    assert_eq!(o, CostOverrides::default());
    o.set_named("task_memory", 7).unwrap();
    assert_eq!(o.get("task_memory"), Some(7));
    assert_eq!(o.apply(Costs::default()).task_memory, 7);
    assert_eq!(o.apply(Costs::default()).process_memory, 0);
}

#[test]
fn scenarios_md_shows_the_table() {
    let doc = include_str!("../../SCENARIOS.md");
    let table = markdown_table();
    assert!(
        doc.contains(&table),
        "sim/SCENARIOS.md's [costs] table differs from cost::KEYS; replace it with:\n{table}"
    );
}
