//! Event definitions: what each trigger needs (timers that read, names, links), multiple
//! events and where cancel events may stand.

use super::*;

pub(super) fn check_trigger(
    node: &FlowNode,
    t: &Trigger,
    link_catch: &HashMap<(Option<NodeId>, &str), Vec<NodeId>>,
    out: &mut Out,
) {
    let catching = matches!(
        node.kind,
        NodeKind::StartEvent { .. }
            | NodeKind::IntermediateCatch { .. }
            | NodeKind::Boundary { .. }
    );
    match t {
        // A message catch or receive task without a name is fine (callbacks correlate by
        // correlationKey), but nothing could ever be sent to start a process or sub-process.
        Trigger::Message(None) if matches!(node.kind, NodeKind::StartEvent { .. }) => {
            out.err(
                node,
                format!(
                    "message start event '{}' does not name its message (messageRef)",
                    node.id
                ),
            );
        }
        Trigger::Signal(None) => out.err(
            node,
            format!(
                "signal event '{}' does not name its signal (signalRef)",
                node.id
            ),
        ),
        Trigger::Timer(def) => check_timer(node, def, out),
        Trigger::Conditional(None) if catching => {
            out.err(
                node,
                format!("conditional event '{}' has no condition", node.id),
            );
        }
        Trigger::Link(name)
            if matches!(node.kind, NodeKind::IntermediateThrow { .. })
                && !link_catch.contains_key(&(node.parent, name.as_str())) =>
        {
            out.err(node, format!("link throw event '{}' jumps to link '{name}', but no link catch event has that name in the same scope", node.id));
        }
        Trigger::Link(name) if name.is_empty() => {
            out.err(node, format!("link event '{}' has no name", node.id))
        }
        Trigger::Multiple { parallel, each } => {
            check_multiple(node, *parallel, each, catching, out);
            for t in each {
                check_trigger(node, t, link_catch, out);
            }
        }
        _ => {}
    }
}

/// A multiple event catches messages, signals, timers and conditions (any one of them, or all
/// of them on an intermediate catch event marked `parallelMultiple`) and throws messages and
/// signals.
fn check_multiple(
    node: &FlowNode,
    parallel: bool,
    each: &[Trigger],
    catching: bool,
    out: &mut Out,
) {
    for t in each {
        let fits = if catching {
            matches!(
                t,
                Trigger::Message(_)
                    | Trigger::Signal(_)
                    | Trigger::Timer(_)
                    | Trigger::Conditional(_)
            )
        } else {
            matches!(t, Trigger::Message(_) | Trigger::Signal(_))
        };
        if !fits {
            let what = if catching {
                "a multiple event that catches waits for messages, signals, timers or conditions"
            } else {
                "a multiple event that throws sends messages and signals"
            };
            out.limit(
                &node.id,
                node.span,
                format!(
                    "event '{}' has a {} definition among several: {what}",
                    node.id,
                    t.kind_name()
                ),
            );
        }
    }
    // A process's own start events are scheduled (timers) or started by name (messages and
    // signals) by the host; an event sub-process's start subscribes like a catch event.
    let process_start = matches!(node.kind, NodeKind::StartEvent { .. }) && node.parent.is_none();
    if process_start
        && each
            .iter()
            .any(|t| matches!(t, Trigger::Timer(_) | Trigger::Conditional(_)))
    {
        out.limit(&node.id, node.span, format!("start event '{}' is a multiple start event with a timer or condition: a process starts on several messages and signals only (draw a separate timer start event)", node.id));
    }
    if parallel && !matches!(node.kind, NodeKind::IntermediateCatch { .. }) {
        out.limit(&node.id, node.span, format!("event '{}' is a parallel multiple event: Baton waits for all of several events only on an intermediate catch event, not on a start or boundary event (remove parallelMultiple, or catch each event in turn)", node.id));
    }
}

/// A cancel event is an end event directly inside a transaction, which then needs a cancel
/// boundary event to leave by, or that boundary event (one a transaction) itself.
pub(super) fn check_cancel(d: &Deployment, node: &FlowNode, out: &mut Out) {
    let transaction = |n: Option<NodeId>| {
        n.and_then(|n| d.nodes.get(n as usize))
            .filter(|t| matches!(&t.kind, NodeKind::SubProcess(sp) if sp.transaction))
    };
    let cancel_boundaries = |t: &FlowNode| {
        t.boundaries
            .iter()
            .filter(|b| {
                matches!(
                    d.nodes.get(**b as usize).map(|b| &b.kind),
                    Some(NodeKind::Boundary {
                        trigger: Trigger::Cancel,
                        ..
                    })
                )
            })
            .count()
    };
    match &node.kind {
        NodeKind::EndEvent { .. } => match transaction(node.parent) {
            None => out.limit(&node.id, node.span, format!("cancel end event '{}' is not directly inside a transaction: only a transaction can be cancelled (draw it inside one, or use a terminate or error end event)", node.id)),
            Some(t) if cancel_boundaries(t) == 0 => out.limit(&node.id, node.span, format!("cancel end event '{}' cancels transaction '{}', which has no cancel boundary event to leave by: attach one to '{}'", node.id, t.id, t.id)),
            Some(_) => {}
        },
        NodeKind::Boundary { attached_to, .. } => match transaction(Some(*attached_to)) {
            None => out.limit(&node.id, node.span, format!("cancel boundary event '{}' is not attached to a transaction: only a transaction's cancel end event triggers it", node.id)),
            Some(t) if cancel_boundaries(t) > 1 => out.limit(&node.id, node.span, format!("transaction '{}' has more than one cancel boundary event: keep one, a cancelled transaction leaves by it", t.id)),
            Some(_) => {}
        },
        _ => out.limit(&node.id, node.span, format!("event '{}' is a cancel event, which can only be an end event inside a transaction or a boundary event on one", node.id)),
    }
}

fn check_timer(node: &FlowNode, def: &TimerDef, out: &mut Out) {
    let (src, what) = match def {
        TimerDef::Missing => {
            out.err(node, format!("timer event '{}' has no timeDate, timeDuration or timeCycle, so it would never fire", node.id));
            return;
        }
        TimerDef::Date(s) => (s, "timeDate"),
        TimerDef::Duration(s) => (s, "timeDuration"),
        TimerDef::Cycle(s) => (s, "timeCycle"),
    };
    // `${dueDate}` arrives here as `dueDate` (the parser strips the wrapper): an expression
    // evaluated when the timer is armed, not ISO 8601 text to check now. ISO values start with
    // a digit, `P` or `R`; anything else that reads like a name or a call is an expression.
    let t = src.text.trim();
    let first = t.chars().next().unwrap_or(' ');
    let expression = t.contains("${")
        || t.contains("#{")
        || (!first.is_ascii_digit()
            && (t.contains('(')
                || first == '\''
                || first == '"'
                || (first.is_ascii_alphabetic() && first != 'P' && first != 'R')));
    if expression {
        return;
    }
    let parsed = match def {
        TimerDef::Date(_) => timer::parse_date(t),
        TimerDef::Duration(_) => timer::parse_duration(t),
        TimerDef::Cycle(_) => timer::parse_cycle(t),
        TimerDef::Missing => return,
    };
    match parsed {
        Err(e) => out.push(
            Severity::Error,
            Some(&node.id),
            src.span,
            format!("timer '{}': {what} {}", node.id, e.0),
        ),
        Ok(sched) => {
            // Calendar units (P1M) are measured from a fixed day: a model has no "now" here.
            let from = crate::clock::VirtualClock::default_start();
            if let Err(e) = sched.check(out.limits, from, false) {
                out.limit(
                    &node.id,
                    src.span,
                    format!("timer '{}': {what} '{t}': {}", node.id, e.0),
                );
            }
        }
    }
}
