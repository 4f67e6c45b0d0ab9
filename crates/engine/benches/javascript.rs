//! Per-call cost of the same small scripts in rhai and in JavaScript: a condition, a
//! ServerScript shaped like seed 002's (validate `formData`, answer a map with the user and the
//! clock's time), and the bench models' script task (`counter = counter + 1;`, a variable that
//! exists) and par10's (`b1 = 1;`, a new one; `let b1 = 1;` in rhai). `cargo bench -p baton-engine --bench javascript`; figures in BENCHMARKS.md.
use baton_engine::model::{Language, Source, Span};
use baton_engine::script::{ScriptHost, ScriptInput};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};

const RHAI_CONDITION: &str = "amount > 1000 && customer.vip";
const JS_CONDITION: &str = "amount > 1000 && customer.vip";

const RHAI_SERVER_SCRIPT: &str = r#"
if formData.decision == () { throw "Decision is required"; }
#{ approved: formData.decision == "approve", reviewedBy: currentUser, reviewedAt: now(), comments: formData.comments }
"#;

/// Seed 002, Example 1, as printed.
const JS_SERVER_SCRIPT: &str = "
// Validate manager's decision
if (!formData.decision) {
throw new Error('Decision is required');
}
return {
approved: formData.decision === 'approve',
reviewedBy: currentUser,
reviewedAt: new Date(),
comments: formData.comments
};
";

fn host(texts: &[(&str, Language)]) -> ScriptHost {
    let sources: Vec<Source> = texts
        .iter()
        .enumerate()
        .map(|(i, (t, _))| Source {
            text: t.to_string(),
            id: i as u32,
            span: Span::default(),
        })
        .collect();
    let languages: Vec<Language> = texts.iter().map(|(_, l)| l.clone()).collect();
    let mut host = ScriptHost::new();
    assert!(host.compile_with_languages(&sources, &languages).is_empty());
    host
}

fn bench(c: &mut Criterion) {
    let host = host(&[
        (RHAI_CONDITION, Language::Rhai),
        (JS_CONDITION, Language::JavaScript),
        (RHAI_SERVER_SCRIPT, Language::Rhai),
        (JS_SERVER_SCRIPT, Language::JavaScript),
        ("counter = counter + 1;", Language::Rhai),
        ("counter = counter + 1;", Language::JavaScript),
        ("let b1 = 1;", Language::Rhai),
        ("b1 = 1;", Language::JavaScript),
    ]);
    let mut vars = Map::new();
    vars.insert("amount".into(), json!(1500));
    vars.insert("customer".into(), json!({"vip": true, "name": "Ada"}));
    vars.insert("counter".into(), json!(7));
    for i in 0..20 {
        vars.insert(format!("v{i}"), json!({"n": i, "s": "text"}));
    }
    let form = json!({"decision": "approve", "comments": "paid in full"});
    let lookup = |n: &str| -> Option<Value> { vars.get(n).cloned() };
    let all = || vars.clone();
    let input = ScriptInput {
        lookup: &lookup,
        all: &all,
        form_data: Some(&form),
        current_user: Some("manager.jane"),
        now: "2026-01-01T09:30:00Z".parse().unwrap(),
    };

    let mut g = c.benchmark_group("script per call");
    g.bench_function("condition rhai", |b| {
        b.iter(|| assert!(host.condition(black_box(0), &input).unwrap()))
    });
    g.bench_function("condition javascript", |b| {
        b.iter(|| assert!(host.condition(black_box(1), &input).unwrap()))
    });
    g.bench_function("ServerScript rhai", |b| {
        b.iter(|| host.run_with_commands(black_box(2), &input).unwrap())
    });
    g.bench_function("ServerScript javascript", |b| {
        b.iter(|| host.run_with_commands(black_box(3), &input).unwrap())
    });
    for (name, id) in [
        ("script task rhai", 4),
        ("script task javascript", 5),
        ("new variable rhai", 6),
        ("new variable javascript", 7),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = host.run_with_commands(black_box(id), &input).unwrap();
                assert_eq!(out.writes.len(), 1);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
