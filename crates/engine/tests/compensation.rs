//! Compensation: compensation boundary events linked to handlers by associations, compensation
//! throw and end events (all of a scope or one `activityRef`, waiting for the handlers or not),
//! completed sub-processes compensated from outside, compensation event sub-processes, and the
//! validation around them.

mod common;
use baton_engine::{parse, Effect, Engine, Event, Instance, Severity, Status};
use common::undo::*;
use common::*;
use serde_json::{json, Value};

/// The booking flow: book hotel, book flight, pay; a failed payment throws compensation from
/// an end event (waiting for the handlers), a good one ends plainly.
fn booking() -> String {
    model(&format!(
        r#"<bpmn:startEvent id="start"/>
{hotel}
{flight}
{pay}
<bpmn:exclusiveGateway id="paid" default="ok"/>
<bpmn:endEvent id="done"/>
<bpmn:endEvent id="undoAll"><bpmn:compensateEventDefinition/></bpmn:endEvent>
{f1}{f2}{f3}{f4}{f5}{f6}"#,
        hotel = compensable("bookHotel", "cancelHotel", "hotelCancelled = true;"),
        flight = compensable("bookFlight", "cancelFlight", "flightCancelled = true;"),
        pay = script("pay", "pay", ""),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "bookFlight"),
        f3 = flow("f3", "bookFlight", "pay"),
        f4 = flow("f4", "pay", "paid"),
        f5 = cflow("f5", "paid", "undoAll", "paymentOk == false"),
        f6 = flow("ok", "paid", "done"),
    ))
}

#[test]
fn failed_booking_compensates_completed_bookings_in_reverse_order() {
    let mut h = H::start(&booking(), json!({"log": [], "paymentOk": false}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(
        log(&h),
        [
            "bookHotel",
            "bookFlight",
            "pay",
            "cancelFlight",
            "cancelHotel"
        ]
    );
    assert_eq!(h.var("hotelCancelled"), json!(true));
    assert_eq!(h.var("flightCancelled"), json!(true));
    // History: each handler is entered and completed, the last booking's first, and the
    // compensation end event completes only after both.
    let hist = history(&h);
    let at = |w: &str| position(&hist, w);
    assert!(at("+undoAll") < at("+cancelFlight"), "{hist:?}");
    assert!(at("+cancelFlight") < at("-cancelFlight"), "{hist:?}");
    assert!(at("-cancelFlight") < at("+cancelHotel"), "{hist:?}");
    assert!(at("+cancelHotel") < at("-cancelHotel"), "{hist:?}");
    assert!(at("-cancelHotel") < at("-undoAll"), "{hist:?}");
    // Nothing happens to a finished instance any more.
    assert!(h
        .apply(Event::SetVariables {
            variables: vars(json!({"x": 1}))
        })
        .is_err());
}

#[test]
fn successful_booking_compensates_nothing() {
    let h = H::start(&booking(), json!({"log": [], "paymentOk": true}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(log(&h), ["bookHotel", "bookFlight", "pay"]);
    assert_eq!(h.var("hotelCancelled"), Value::Null);
    assert_eq!(h.visits("cancelHotel"), 0);
}

#[test]
fn activity_ref_compensates_only_the_named_activity() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{hotel}{flight}{t}<bpmn:endEvent id="end"/>
{f1}{f2}{f3}{f4}"#,
        hotel = compensable("bookHotel", "cancelHotel", "hotelCancelled = true;"),
        flight = compensable("bookFlight", "cancelFlight", "flightCancelled = true;"),
        t = throw("undoFlight", r#"activityRef="bookFlight""#),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "bookFlight"),
        f3 = flow("f3", "bookFlight", "undoFlight"),
        f4 = flow("f4", "undoFlight", "end"),
    ));
    let h = H::start(&xml, json!({"log": []}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(log(&h), ["bookHotel", "bookFlight", "cancelFlight"]);
    assert_eq!(h.var("flightCancelled"), json!(true));
    assert_eq!(h.var("hotelCancelled"), Value::Null);
}

#[test]
fn an_activity_is_compensated_once_even_if_compensation_is_thrown_twice() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{hotel}{t1}{t2}{t3}<bpmn:endEvent id="end"/>
{f1}{f2}{f3}{f4}{f5}"#,
        hotel = compensable("bookHotel", "cancelHotel", "cancels = cancels + 1;"),
        t1 = throw("first", ""),
        t2 = throw("second", ""),
        t3 = throw("third", r#"activityRef="bookHotel""#),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "first"),
        f3 = flow("f3", "first", "second"),
        f4 = flow("f4", "second", "third"),
        f5 = flow("f5", "third", "end"),
    ));
    let h = H::start(&xml, json!({"log": [], "cancels": 0}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("cancels"), json!(1));
    assert_eq!(log(&h), ["bookHotel", "cancelHotel"]);
    // The later throws found nothing and just went on.
    for t in ["second", "third"] {
        assert!(history(&h).contains(&format!("-{t}")), "{t} completed");
    }
}

#[test]
fn an_activity_that_completes_twice_is_compensated_twice() {
    // A loop back through the task: each completion has its own compensation (Camunda 7).
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{hotel}<bpmn:exclusiveGateway id="again" default="go"/>{t}<bpmn:endEvent id="end"/>
{f1}{f2}{f3}{f4}{f5}"#,
        hotel = compensable("bookHotel", "cancelHotel", "cancels = cancels + 1;"),
        t = throw("undo", ""),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "again"),
        f3 = cflow("f3", "again", "bookHotel", "log.len() &lt; 2"),
        f4 = flow("go", "again", "undo"),
        f5 = flow("f5", "undo", "end"),
    ));
    let h = H::start(&xml, json!({"log": [], "cancels": 0}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("cancels"), json!(2));
}

#[test]
fn a_throw_with_nothing_to_compensate_just_continues() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{t}{hotel}<bpmn:endEvent id="end"/>
{f1}{f2}{f3}"#,
        t = throw("tooEarly", ""),
        hotel = compensable("bookHotel", "cancelHotel", ""),
        f1 = flow("f1", "start", "tooEarly"),
        f2 = flow("f2", "tooEarly", "bookHotel"),
        f3 = flow("f3", "bookHotel", "end"),
    ));
    let h = H::start(&xml, json!({"log": []}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(log(&h), ["bookHotel"]);
    let hist = history(&h);
    assert!(position(&hist, "-tooEarly") < position(&hist, "+bookHotel"));
}

#[test]
fn activities_that_did_not_complete_are_not_compensated() {
    // bookHotel completes; bookFlight still waits when the other branch throws compensation;
    // bookCar was interrupted by its timer. Only the hotel is compensated.
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/>
{hotel}{flight}{car}
<bpmn:boundaryEvent id="carLate" attachedToRef="bookCar"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:userTask id="decide"/>{t}
<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/><bpmn:endEvent id="e4"/>
{f1}{f2}{f3}{f4}{f5}{f6}{f7}{f8}{f9}{f10}"#,
        hotel = compensable("bookHotel", "cancelHotel", "hotelCancelled = true;"),
        flight = compensable_user("bookFlight", "cancelFlight"),
        car = compensable_user("bookCar", "cancelCar"),
        t = throw("undo", ""),
        f1 = flow("f1", "start", "fork"),
        f2 = flow("f2", "fork", "bookHotel"),
        f3 = flow("f3", "bookHotel", "decide"),
        f4 = flow("f4", "decide", "undo"),
        f5 = flow("f5", "undo", "e1"),
        f6 = flow("f6", "fork", "bookFlight"),
        f7 = flow("f7", "bookFlight", "e2"),
        f8 = flow("f8", "fork", "bookCar"),
        f9 = flow("f9", "bookCar", "e3"),
        f10 = flow("f10", "carLate", "e4"),
    ));
    let mut h = H::start(&xml, json!({"log": []}));
    assert_eq!(h.waiting(), ["bookCar", "bookFlight", "decide"]);
    h.advance(3600);
    assert_eq!(h.waiting(), ["bookFlight", "decide"]);
    h.complete("decide", json!({})).unwrap();
    assert_eq!(log(&h), ["bookHotel", "cancelHotel"]);
    assert_eq!(h.waiting(), ["bookFlight"], "no handler for flight or car");
    h.complete("bookFlight", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("cancelFlight"), 0);
    assert_eq!(h.visits("cancelCar"), 0);
}

#[test]
fn user_task_handlers_all_wait_and_the_thrower_goes_on_when_both_are_done() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{a}{b}{t}<bpmn:userTask id="after"/><bpmn:endEvent id="end"/>
{f1}{f2}{f3}{f4}{f5}"#,
        a = compensable_user("bookHotel", "cancelHotel"),
        b = compensable_user("bookFlight", "cancelFlight"),
        t = throw("undo", r#"waitForCompletion="true""#),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "bookFlight"),
        f3 = flow("f3", "bookFlight", "undo"),
        f4 = flow("f4", "undo", "after"),
        f5 = flow("f5", "after", "end"),
    ));
    let mut h = H::start(&xml, json!({}));
    h.complete("bookHotel", json!({})).unwrap();
    h.complete("bookFlight", json!({})).unwrap();
    assert_eq!(h.waiting(), ["cancelFlight", "cancelHotel"]);
    assert_eq!(h.inst.status, Status::Waiting);
    // Started in reverse order of completion.
    let hist = history(&h);
    assert!(position(&hist, "+cancelFlight") < position(&hist, "+cancelHotel"));
    h.complete("cancelHotel", json!({})).unwrap();
    assert_eq!(h.waiting(), ["cancelFlight"], "the throw still waits");
    h.complete("cancelFlight", json!({})).unwrap();
    assert_eq!(h.waiting(), ["after"]);
    h.complete("after", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn without_wait_for_completion_the_thrower_goes_on_at_once() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{a}{t}<bpmn:userTask id="after"/><bpmn:endEvent id="end"/>
{f1}{f2}{f3}{f4}"#,
        a = compensable_user("bookHotel", "cancelHotel"),
        t = throw("undo", r#"waitForCompletion="false""#),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "undo"),
        f3 = flow("f3", "undo", "after"),
        f4 = flow("f4", "after", "end"),
    ));
    let mut h = H::start(&xml, json!({}));
    h.complete("bookHotel", json!({})).unwrap();
    assert_eq!(h.waiting(), ["after", "cancelHotel"]);
    h.complete("after", json!({})).unwrap();
    assert_eq!(
        h.inst.status,
        Status::Waiting,
        "the running handler keeps the instance open"
    );
    h.complete("cancelHotel", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

/// A sub-process `trip` with hotel and flight bookings inside, then a compensation throw at
/// process level (`throw_attrs`), then a user task `after`.
fn trip(inside_extra: &str, outside_extra: &str, throw_attrs: &str) -> String {
    model(&format!(
        r#"<bpmn:startEvent id="start"/>
<bpmn:subProcess id="trip">
  <bpmn:startEvent id="tripStart"/>{hotel}{flight}<bpmn:endEvent id="tripEnd"/>
  {g1}{g2}{g3}
  {inside_extra}
</bpmn:subProcess>
{outside_extra}
{t}<bpmn:userTask id="after"/><bpmn:endEvent id="end"/>
{f1}{f2}{f3}{f4}"#,
        hotel = compensable("bookHotel", "cancelHotel", ""),
        flight = compensable("bookFlight", "cancelFlight", ""),
        g1 = flow("g1", "tripStart", "bookHotel"),
        g2 = flow("g2", "bookHotel", "bookFlight"),
        g3 = flow("g3", "bookFlight", "tripEnd"),
        t = throw("undo", throw_attrs),
        f1 = flow("f1", "start", "trip"),
        f2 = flow("f2", "trip", "undo"),
        f3 = flow("f3", "undo", "after"),
        f4 = flow("f4", "after", "end"),
    ))
}

#[test]
fn a_completed_sub_process_has_its_inner_activities_compensated_in_reverse() {
    for attrs in ["", r#"activityRef="trip""#] {
        let h = H::start(&trip("", "", attrs), json!({"log": []}));
        assert_eq!(
            log(&h),
            ["bookHotel", "bookFlight", "cancelFlight", "cancelHotel"],
            "{attrs}"
        );
        assert_eq!(h.waiting(), ["after"]);
    }
}

#[test]
fn compensation_inside_a_sub_process_stays_inside_it() {
    // A throw inside the sub-process compensates its own activities, not the ones before it.
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{car}
<bpmn:subProcess id="trip">
  <bpmn:startEvent id="tripStart"/>{hotel}{t}<bpmn:endEvent id="tripEnd"/>
  {g1}{g2}{g3}
</bpmn:subProcess><bpmn:endEvent id="end"/>
{f1}{f2}{f3}"#,
        car = compensable("bookCar", "cancelCar", ""),
        hotel = compensable("bookHotel", "cancelHotel", ""),
        t = throw("undoInside", ""),
        g1 = flow("g1", "tripStart", "bookHotel"),
        g2 = flow("g2", "bookHotel", "undoInside"),
        g3 = flow("g3", "undoInside", "tripEnd"),
        f1 = flow("f1", "start", "bookCar"),
        f2 = flow("f2", "bookCar", "trip"),
        f3 = flow("f3", "trip", "end"),
    ));
    let h = H::start(&xml, json!({"log": []}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(log(&h), ["bookCar", "bookHotel", "cancelHotel"]);
}

#[test]
fn a_sub_process_with_its_own_handler_runs_only_that_handler() {
    let outside = r#"<bpmn:boundaryEvent id="tripComp" attachedToRef="trip"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:scriptTask id="cancelTrip" isForCompensation="true" scriptFormat="rhai"><bpmn:script>log = log + ["cancelTrip"];</bpmn:script></bpmn:scriptTask>
<bpmn:association id="ta" sourceRef="tripComp" targetRef="cancelTrip"/>"#;
    let h = H::start(&trip("", outside, ""), json!({"log": []}));
    assert_eq!(log(&h), ["bookHotel", "bookFlight", "cancelTrip"]);
    assert_eq!(h.waiting(), ["after"]);
}

#[test]
fn a_compensation_event_sub_process_undoes_the_sub_process_its_own_way() {
    // The event sub-process compensates the hotel only, then notifies.
    let esp = format!(
        r#"<bpmn:subProcess id="undoTrip" triggeredByEvent="true">
    <bpmn:startEvent id="undoStart"><bpmn:compensateEventDefinition/></bpmn:startEvent>
    {t}{notify}<bpmn:endEvent id="undoEnd"/>
    {e1}{e2}{e3}
  </bpmn:subProcess>"#,
        t = throw("undoHotelOnly", r#"activityRef="bookHotel""#),
        notify = script("notify", "notify", ""),
        e1 = flow("e1", "undoStart", "undoHotelOnly"),
        e2 = flow("e2", "undoHotelOnly", "notify"),
        e3 = flow("e3", "notify", "undoEnd"),
    );
    let xml = trip(&esp, "", "");
    let d = parse(&[("m.bpmn", &xml)]).unwrap();
    let warnings = baton_engine::validate(&d, &[]);
    assert!(warnings.is_empty(), "{warnings:#?}");
    let h = H::start(&xml, json!({"log": []}));
    assert_eq!(
        log(&h),
        ["bookHotel", "bookFlight", "cancelHotel", "notify"]
    );
    assert_eq!(h.waiting(), ["after"]);
    assert_eq!(h.visits("undoTrip"), 1);
}

#[test]
fn an_error_event_sub_process_compensates_what_completed_in_its_scope() {
    // A failure ends in an error; the error event sub-process undoes the completed booking
    // (Camunda 7: testCompensateActivityRefTriggeredByEventSubprocess).
    let xml = model_with(
        r#"<bpmn:error id="failed" errorCode="FAILED"/>"#,
        &format!(
            r#"<bpmn:startEvent id="start"/>{hotel}{car}
<bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="failed"/></bpmn:endEvent>
<bpmn:subProcess id="onError" triggeredByEvent="true">
  <bpmn:startEvent id="caught"><bpmn:errorEventDefinition errorRef="failed"/></bpmn:startEvent>
  {t}<bpmn:endEvent id="handled"/>{e1}{e2}
</bpmn:subProcess>
{f1}{f2}{f3}"#,
            hotel = compensable("bookHotel", "cancelHotel", ""),
            car = compensable("bookCar", "cancelCar", ""),
            t = throw("undoHotel", r#"activityRef="bookHotel""#),
            e1 = flow("e1", "caught", "undoHotel"),
            e2 = flow("e2", "undoHotel", "handled"),
            f1 = flow("f1", "start", "bookHotel"),
            f2 = flow("f2", "bookHotel", "bookCar"),
            f3 = flow("f3", "bookCar", "fail"),
        ),
    );
    let ps = problems(&xml);
    assert!(ps.is_empty(), "{ps:#?}");
    let h = H::start(&xml, json!({"log": []}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(log(&h), ["bookHotel", "bookCar", "cancelHotel"]);
}

#[test]
fn multi_instance_activity_is_compensated_per_instance_with_its_element_variable() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="book" scriptFormat="rhai">
  <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="hotels" camunda:elementVariable="hotel"/>
  <bpmn:script>log = log + ["book " + hotel];</bpmn:script>
</bpmn:scriptTask>
<bpmn:boundaryEvent id="bookComp" attachedToRef="book"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:scriptTask id="cancel" isForCompensation="true" scriptFormat="rhai"><bpmn:script>log = log + ["cancel " + hotel + " #" + loopCounter];</bpmn:script></bpmn:scriptTask>
<bpmn:association id="a" sourceRef="bookComp" targetRef="cancel"/>
{t}<bpmn:endEvent id="end"/>{f1}{f2}{f3}"#,
        t = throw("undo", r#"activityRef="book""#),
        f1 = flow("f1", "start", "book"),
        f2 = flow("f2", "book", "undo"),
        f3 = flow("f3", "undo", "end"),
    ));
    let h = H::start(
        &xml,
        json!({"log": [], "hotels": ["Ritz", "Savoy", "Adlon"]}),
    );
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(
        log(&h),
        [
            "book Ritz",
            "book Savoy",
            "book Adlon",
            "cancel Adlon #2",
            "cancel Savoy #1",
            "cancel Ritz #0"
        ]
    );
}

#[test]
fn cancelling_during_compensation_cancels_the_handlers() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{a}{t}<bpmn:endEvent id="end"/>{f1}{f2}{f3}"#,
        a = compensable_user("bookHotel", "cancelHotel"),
        t = throw("undo", ""),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "undo"),
        f3 = flow("f3", "undo", "end"),
    ));
    let mut h = H::start(&xml, json!({}));
    h.complete("bookHotel", json!({})).unwrap();
    assert_eq!(h.waiting(), ["cancelHotel"]);
    h.apply(Event::Cancel { reason: None }).unwrap();
    assert_eq!(h.inst.status, Status::Cancelled);
    assert!(h.waiting().is_empty());
    let cancelled: Vec<&str> = h
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ElementCancelled { element_id } => Some(element_id.as_str()),
            _ => None,
        })
        .collect();
    assert!(cancelled.contains(&"cancelHotel"), "{cancelled:?}");
    assert!(cancelled.contains(&"undo"), "{cancelled:?}");
    assert!(
        !cancelled.contains(&"bookHotel"),
        "the completed activity is not cancelled again: {cancelled:?}"
    );
}

#[test]
fn an_instance_in_compensation_survives_a_store_and_reload() {
    let xml = trip(
        "",
        "",
        r#"activityRef="trip""#,
    )
    .replace(
        r#"<bpmn:scriptTask id="cancelHotel" isForCompensation="true" scriptFormat="rhai"><bpmn:script>log = log + ["cancelHotel"]; </bpmn:script></bpmn:scriptTask>"#,
        r#"<bpmn:userTask id="cancelHotel" isForCompensation="true"/>"#,
    );
    let mut h = H::start(&xml, json!({"log": []}));
    assert_eq!(
        h.waiting(),
        ["cancelHotel"],
        "the flight was undone, the hotel waits"
    );
    let stored = serde_json::to_string(&h.inst).unwrap();
    h.inst = serde_json::from_str::<Instance>(&stored).unwrap();
    h.complete("cancelHotel", json!({})).unwrap();
    assert_eq!(h.waiting(), ["after"]);
    h.complete("after", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn a_stored_state_without_compensation_fields_still_loads() {
    // Instances stored before compensation was executed have no `done` lists.
    let xml = booking().replace(
        r#"<bpmn:scriptTask id="pay" scriptFormat="rhai"><bpmn:script>log = log + ["pay"]; </bpmn:script></bpmn:scriptTask>"#,
        r#"<bpmn:userTask id="pay"/>"#,
    );
    assert_ne!(xml, booking());
    let mut h = H::start(&xml, json!({"log": [], "paymentOk": false}));
    let mut v: Value = serde_json::to_value(&h.inst).unwrap();
    let mut had = 0;
    for s in v["scopes"].as_array_mut().unwrap() {
        if let Some(s) = s.as_object_mut() {
            had += usize::from(s.remove("done").is_some());
        }
    }
    assert_eq!(had, 1, "the root scope remembers the two bookings");
    h.inst = serde_json::from_value(v).unwrap();
    h.complete("pay", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("hotelCancelled"), Value::Null, "nothing left to undo");
    assert_eq!(log(&h), ["bookHotel", "bookFlight"]);
}

// ----- validation ----------------------------------------------------------------------------

fn problems(xml: &str) -> Vec<baton_engine::Problem> {
    let d = parse(&[("m.bpmn", xml)]).expect("parses");
    match Engine::new(d) {
        Ok((_, warnings)) => warnings,
        Err(p) => p,
    }
}

fn problem<'a>(
    ps: &'a [baton_engine::Problem],
    id: &str,
    needle: &str,
) -> &'a baton_engine::Problem {
    ps.iter()
        .find(|p| p.element_id.as_deref() == Some(id) && p.message.contains(needle))
        .unwrap_or_else(|| panic!("no problem on '{id}' containing '{needle}' in {ps:#?}"))
}

#[test]
fn supported_compensation_models_validate_without_problems() {
    for xml in [
        booking(),
        trip("", "", ""),
        trip("", "", r#"activityRef="trip" waitForCompletion="false""#),
    ] {
        let ps = problems(&xml);
        assert!(ps.is_empty(), "{ps:#?}");
    }
}

#[test]
fn invalid_compensation_is_reported_with_element_line_and_column() {
    let xml = model(
        r#"<bpmn:startEvent id="start"/>
<bpmn:userTask id="book"/>
<bpmn:boundaryEvent id="lonely" attachedToRef="book"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="pay"/>
<bpmn:boundaryEvent id="payComp" attachedToRef="pay"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="refund" isForCompensation="true"/>
<bpmn:association id="a1" sourceRef="payComp" targetRef="refund"/>
<bpmn:endEvent id="afterRefund"/>
<bpmn:sequenceFlow id="bad" sourceRef="refund" targetRef="afterRefund"/>
<bpmn:userTask id="plain"/>
<bpmn:boundaryEvent id="wrongTarget" attachedToRef="plain"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:association id="a2" sourceRef="wrongTarget" targetRef="book"/>
<bpmn:intermediateThrowEvent id="unknownRef"><bpmn:compensateEventDefinition activityRef="nowhere"/></bpmn:intermediateThrowEvent>
<bpmn:intermediateCatchEvent id="catchComp"><bpmn:compensateEventDefinition/></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="book"/>
<bpmn:sequenceFlow id="f2" sourceRef="book" targetRef="pay"/>
<bpmn:sequenceFlow id="f3" sourceRef="pay" targetRef="plain"/>
<bpmn:sequenceFlow id="f4" sourceRef="plain" targetRef="unknownRef"/>
<bpmn:sequenceFlow id="f5" sourceRef="unknownRef" targetRef="catchComp"/>
<bpmn:sequenceFlow id="f6" sourceRef="catchComp" targetRef="end"/>"#,
    );
    let ps = problems(&xml);
    // Camunda 7 deploys a boundary without handler: a warning, compensating `book` does nothing.
    let p = problem(&ps, "lonely", "not connected to a compensation handler");
    assert_eq!((p.severity, p.line, p.column), (Severity::Warning, 3, 1));
    let expect = [
        ("refund", "has an outgoing sequence flow", 6, 1),
        ("wrongTarget", "which is not a compensation handler", 11, 1),
        (
            "unknownRef",
            "no element of this process has that id",
            13,
            1,
        ),
        (
            "catchComp",
            "compensation is caught only by a boundary event",
            14,
            1,
        ),
    ];
    for (id, needle, line, column) in expect {
        let p = problem(&ps, id, needle);
        assert_eq!(
            (p.severity, p.line, p.column),
            (Severity::Error, line, column),
            "{p:?}"
        );
    }
}

#[test]
fn activity_ref_outside_the_scope_of_the_throw_is_an_error() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{car}
<bpmn:subProcess id="trip">
  <bpmn:startEvent id="tripStart"/>{t}<bpmn:endEvent id="tripEnd"/>
  {g1}{g2}
</bpmn:subProcess><bpmn:endEvent id="end"/>
{f1}{f2}{f3}"#,
        car = compensable("bookCar", "cancelCar", ""),
        t = throw("undoCar", r#"activityRef="bookCar""#),
        g1 = flow("g1", "tripStart", "undoCar"),
        g2 = flow("g2", "undoCar", "tripEnd"),
        f1 = flow("f1", "start", "bookCar"),
        f2 = flow("f2", "bookCar", "trip"),
        f3 = flow("f3", "trip", "end"),
    ));
    let ps = problems(&xml);
    let p = problem(&ps, "undoCar", "not in the same scope");
    assert_eq!((p.severity, p.line), (Severity::Error, 6));
}

#[test]
fn an_unlinked_handler_and_an_activity_ref_without_handler_are_warned_about() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{plain}{t}<bpmn:endEvent id="end"/>
<bpmn:userTask id="orphan" isForCompensation="true"/>
{f1}{f2}{f3}"#,
        plain = script("plain", "plain", ""),
        t = throw("undoPlain", r#"activityRef="plain""#),
        f1 = flow("f1", "start", "plain"),
        f2 = flow("f2", "plain", "undoPlain"),
        f3 = flow("f3", "undoPlain", "end"),
    ));
    let ps = problems(&xml);
    assert_eq!(
        problem(&ps, "orphan", "never runs").severity,
        Severity::Warning
    );
    assert_eq!(
        problem(&ps, "undoPlain", "compensates nothing").severity,
        Severity::Warning
    );
    // It runs: the throw finds nothing to compensate and goes on.
    let h = H::start(&xml, json!({"log": []}));
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn two_compensation_boundaries_on_one_activity_are_an_error() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>{hotel}
<bpmn:boundaryEvent id="again" attachedToRef="bookHotel"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:scriptTask id="undoAgain" isForCompensation="true"><bpmn:script>x = 1;</bpmn:script></bpmn:scriptTask>
<bpmn:association id="a2" sourceRef="again" targetRef="undoAgain"/>
<bpmn:endEvent id="end"/>{f1}{f2}"#,
        hotel = compensable("bookHotel", "cancelHotel", ""),
        f1 = flow("f1", "start", "bookHotel"),
        f2 = flow("f2", "bookHotel", "end"),
    ));
    let ps = problems(&xml);
    let p = problem(&ps, "again", "second compensation boundary event");
    assert_eq!((p.severity, p.line, p.column), (Severity::Error, 5, 1));
}

#[test]
fn a_call_activity_can_be_the_compensation_handler() {
    let xml = format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d">
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="start"/>{pay}
<bpmn:boundaryEvent id="payComp" attachedToRef="pay"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:callActivity id="refund" calledElement="refunding" isForCompensation="true"/>
<bpmn:association id="a" sourceRef="payComp" targetRef="refund"/>
<bpmn:endEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:endEvent>
{f1}{f2}
</bpmn:process>
<bpmn:process id="refunding" isExecutable="true">
<bpmn:startEvent id="rs"/>{give}<bpmn:endEvent id="re"/>{r1}{r2}
</bpmn:process></bpmn:definitions>"#,
        pay = script("pay", "pay", ""),
        give = script("giveBack", "giveBack", "refunded = true;"),
        f1 = flow("f1", "start", "pay"),
        f2 = flow("f2", "pay", "undo"),
        r1 = flow("r1", "rs", "giveBack"),
        r2 = flow("r2", "giveBack", "re"),
    );
    let h = H::start(&xml, json!({"log": []}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(log(&h), ["pay", "giveBack"]);
    assert_eq!(h.var("refunded"), json!(true));
    let hist = history(&h);
    assert!(
        position(&hist, "-refund") < position(&hist, "-undo"),
        "{hist:?}"
    );
}
