//! How long one script run costs: the executor runs ~10 per instance and aims at tens of
//! thousands of instances per second, so a one-line script should take a microsecond or two.
use baton_engine::model::{Source, Span};
use baton_engine::script::{ScriptHost, ScriptInput};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};

fn host(texts: &[&str]) -> ScriptHost {
    let sources: Vec<Source> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Source {
            text: t.to_string(),
            id: i as u32,
            span: Span::default(),
        })
        .collect();
    let mut host = ScriptHost::new();
    assert!(host.compile_all(&sources).is_empty());
    host
}

fn bench(c: &mut Criterion) {
    let host = host(&["counter = counter + 1;", "counter < 100"]);
    // A realistic variable set: the script reads only one of them.
    let mut vars = Map::new();
    vars.insert("counter".into(), json!(41));
    for i in 0..20 {
        vars.insert(format!("v{i}"), json!({"n": i, "s": "text"}));
    }
    let lookup = |n: &str| -> Option<Value> { vars.get(n).cloned() };
    let all = || vars.clone();
    let input = ScriptInput {
        lookup: &lookup,
        all: &all,
        form_data: None,
        current_user: None,
        now: jiff::Timestamp::UNIX_EPOCH,
    };

    c.bench_function("run counter = counter + 1", |b| {
        b.iter(|| host.run(black_box(0), &input).unwrap())
    });
    c.bench_function("condition counter < 100", |b| {
        b.iter(|| host.condition(black_box(1), &input).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
