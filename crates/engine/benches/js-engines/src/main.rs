//! Start-up and per-call cost of QuickJS (rquickjs) and Boa for a seed-002 ServerScript: a
//! context per call, a shared context compiling each call, and a shared context with the
//! function compiled once. Figures and the choice they led to: docs/scripting.md.
use std::time::Instant;

const BODY: &str = "
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
const FORM: &str = r#"{"decision":"approve","comments":"ok"}"#;

fn per<F: FnMut()>(name: &str, n: u32, mut f: F) {
    for _ in 0..(n / 10).max(1) {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{name}: {us:.2} us/call");
}

fn wrapped() -> String {
    format!("(function(formData, currentUser) {{{BODY}\n}})")
}

fn qjs() {
    use rquickjs::{context::intrinsic::*, Context, Function, Persistent, Runtime};
    type I = (Date, Eval, RegExpCompiler, RegExp, Json, MapSet);
    per("quickjs runtime new", 200, || {
        let _ = Runtime::new().unwrap();
    });
    let rt = Runtime::new().unwrap();
    rt.set_memory_limit(64 << 20);
    per("quickjs context new (minimal intrinsics)", 2000, || {
        let _ = Context::custom::<I>(&rt).unwrap();
    });
    per("quickjs context new (full)", 2000, || {
        let _ = Context::full(&rt).unwrap();
    });
    let src = wrapped();
    per(
        "quickjs per call: new context + compile + call + json",
        2000,
        || {
            let ctx = Context::custom::<I>(&rt).unwrap();
            let out: String = ctx.with(|ctx| {
                let f: Function = ctx.eval(src.as_bytes()).unwrap();
                let fd = ctx.json_parse(FORM).unwrap();
                let v: rquickjs::Value = f.call((fd, "alice")).unwrap();
                ctx.json_stringify(v).unwrap().unwrap().to_string().unwrap()
            });
            let _: serde_json::Value = serde_json::from_str(&out).unwrap();
        },
    );
    let ctx = Context::custom::<I>(&rt).unwrap();
    per(
        "quickjs shared context: compile + call + json",
        5000,
        || {
            let out: String = ctx.with(|ctx| {
                let f: Function = ctx.eval(src.as_bytes()).unwrap();
                let fd = ctx.json_parse(FORM).unwrap();
                let v: rquickjs::Value = f.call((fd, "alice")).unwrap();
                ctx.json_stringify(v).unwrap().unwrap().to_string().unwrap()
            });
            let _: serde_json::Value = serde_json::from_str(&out).unwrap();
        },
    );
    let f = ctx.with(|ctx| {
        let f: Function = ctx.eval(src.as_bytes()).unwrap();
        Persistent::save(&ctx, f)
    });
    per(
        "quickjs shared context, compiled once: call + json",
        20000,
        || {
            let out: String = ctx.with(|ctx| {
                let f = f.clone().restore(&ctx).unwrap();
                let fd = ctx.json_parse(FORM).unwrap();
                let v: rquickjs::Value = f.call((fd, "alice")).unwrap();
                ctx.json_stringify(v).unwrap().unwrap().to_string().unwrap()
            });
            let _: serde_json::Value = serde_json::from_str(&out).unwrap();
        },
    );
    let cond = ctx.with(|ctx| {
        let f: Function = ctx
            .eval("(function(amount){ return amount > 1000; })")
            .unwrap();
        Persistent::save(&ctx, f)
    });
    per(
        "quickjs shared context, compiled once: condition",
        20000,
        || {
            let b: bool = ctx.with(|ctx| {
                let f = cond.clone().restore(&ctx).unwrap();
                f.call((1500,)).unwrap()
            });
            assert!(b);
        },
    );
}

fn boa() {
    use boa_engine::{js_string, property::Attribute, Context, JsValue, Source};
    per("boa context new", 50, || {
        let _ = Context::default();
    });
    let src = wrapped();
    let form: serde_json::Value = serde_json::from_str(FORM).unwrap();
    per(
        "boa per call: new context + compile + call + json",
        50,
        || {
            let mut ctx = Context::default();
            let f = ctx.eval(Source::from_bytes(src.as_bytes())).unwrap();
            let fd = JsValue::from_json(&form, &mut ctx).unwrap();
            let f = f.as_callable().unwrap().clone();
            let v = f
                .call(
                    &JsValue::undefined(),
                    &[fd, js_string!("alice").into()],
                    &mut ctx,
                )
                .unwrap();
            let _ = v.to_json(&mut ctx).unwrap();
        },
    );
    let mut ctx = Context::default();
    per("boa shared context: compile + call + json", 2000, || {
        let f = ctx.eval(Source::from_bytes(src.as_bytes())).unwrap();
        let fd = JsValue::from_json(&form, &mut ctx).unwrap();
        let f = f.as_callable().unwrap().clone();
        let v = f
            .call(
                &JsValue::undefined(),
                &[fd, js_string!("alice").into()],
                &mut ctx,
            )
            .unwrap();
        let _ = v.to_json(&mut ctx).unwrap();
    });
    let f = ctx
        .eval(Source::from_bytes(src.as_bytes()))
        .unwrap()
        .as_callable()
        .unwrap()
        .clone();
    per(
        "boa shared context, compiled once: call + json",
        5000,
        || {
            let fd = JsValue::from_json(&form, &mut ctx).unwrap();
            let v = f
                .call(
                    &JsValue::undefined(),
                    &[fd, js_string!("alice").into()],
                    &mut ctx,
                )
                .unwrap();
            let _ = v.to_json(&mut ctx).unwrap();
        },
    );
    let cond = ctx
        .eval(Source::from_bytes(
            "(function(amount){ return amount > 1000; })",
        ))
        .unwrap()
        .as_callable()
        .unwrap()
        .clone();
    per(
        "boa shared context, compiled once: condition",
        20000,
        || {
            let b = cond
                .call(&JsValue::undefined(), &[JsValue::from(1500)], &mut ctx)
                .unwrap();
            assert!(b.as_boolean().unwrap());
        },
    );
    let _ = ctx.register_global_property(js_string!("x"), 1, Attribute::all());
}

fn main() {
    qjs();
    boa();
}
