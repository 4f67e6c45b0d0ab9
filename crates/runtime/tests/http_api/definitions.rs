//! Deploy and the definition queries.

use crate::*;
use baton_testkit::{definitions, NS};

#[tokio::test]
async fn deploy_and_definition_queries() {
    let s = server();
    let deployed = s
        .case(case(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": loan(), "name": "Loans", "forms": {"loan-review-form": loan_form()}}),
            ok_with(&[
                ("/processKey", json!("LoanApprovalProcess")),
                ("/version", json!(1)),
            ]),
        ))
        .await;
    assert!(deployed["warnings"].is_array(), "{deployed}");
    let v1 = deployed["processDefinitionId"].as_i64().unwrap();
    // A second deploy of a key is its next version.
    let again = s
        .case(case(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": loan()}),
            ok_with(&[("/version", json!(2))]),
        ))
        .await;
    let v2 = again["processDefinitionId"].as_i64().unwrap();
    assert_ne!(v1, v2);
    let other = s.deploy(&callback_wait()).await;

    let got = s
        .table(vec![
            // By id: the XML and forms as deployed.
            case(
                ADMIN,
                "GetProcessDefinitionByIdQuery",
                json!({"processDefinitionId": v1}),
                ok_with(&[
                    ("/processDefinitionId", json!(v1)),
                    ("/name", json!("Loans")),
                    ("/version", json!(1)),
                    ("/bpmnXml", json!(loan())),
                    ("/forms/loan-review-form", loan_form()),
                ]),
            ),
            // By key: the newest version.
            case(
                ADMIN,
                "GetProcessDefinitionByIdQuery",
                json!({"processKey": "LoanApprovalProcess"}),
                ok_with(&[
                    ("/processDefinitionId", json!(v2)),
                    ("/version", json!(2)),
                    ("/forms", json!({})),
                ]),
            ),
            // Any user may read definitions.
            case(
                &s.bob,
                "GetProcessDefinitionByIdQuery",
                json!({"processDefinitionId": v1}),
                ok_with(&[("/processKey", json!("LoanApprovalProcess"))]),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionByIdQuery",
                json!({"processDefinitionId": 999}),
                field_msg("processDefinitionId", is("no process definition 999")),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionByIdQuery",
                json!({"processDefinitionId": "one"}),
                field_msg("processDefinitionId", has(&["integer"])),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionByIdQuery",
                json!({}),
                field("processDefinitionId"),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionByIdQuery",
                json!({"processKey": "Nope"}),
                field("processKey"),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionByIdQuery",
                json!({"processKey": 12}),
                field("processKey"),
            ),
        ])
        .await;
    assert!(
        got[0]["deployedAt"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-01T00:00:00"),
        "{}",
        got[0]
    );

    // The list: newest first, without the XML; paging and a key filter.
    let got = s
        .table(vec![
            case(
                ADMIN,
                "GetProcessDefinitionListQuery",
                json!({}),
                ok_with(&[("/totalCount", json!(3))]),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionListQuery",
                json!({"pageNumber": 2, "pageSize": 2}),
                ok_with(&[
                    ("/totalCount", json!(3)),
                    ("/items/0/processDefinitionId", json!(v1)),
                ]),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionListQuery",
                json!({"processKey": "CallbackFlow"}),
                ok_with(&[
                    ("/totalCount", json!(1)),
                    ("/items/0/processDefinitionId", other.clone()),
                ]),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionListQuery",
                json!({"pageSize": 0}),
                field_msg("pageSize", is("pageSize must be a whole number, 1 or more")),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionListQuery",
                json!({"pageNumber": 0}),
                field("pageNumber"),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionListQuery",
                json!({"pageNumber": "2"}),
                field("pageNumber"),
            ),
            case(
                ADMIN,
                "GetProcessDefinitionListQuery",
                json!({"processKey": ["a"]}),
                field("processKey"),
            ),
        ])
        .await;
    let list = &got[0];
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["processDefinitionId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![other.as_i64().unwrap(), v2, v1]);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("bpmnXml").is_none()),
        "{list}"
    );
    assert_eq!(got[1]["items"].as_array().unwrap().len(), 1);
}

/// Parses "line L, column C: ..." into (L, C).
fn line_and_column(m: &str) -> (u32, u32) {
    let (line, rest) = m
        .strip_prefix("line ")
        .and_then(|r| r.split_once(", column "))
        .unwrap_or_else(|| panic!("no line/column in {m:?}"));
    let line: u32 = line.parse().unwrap_or_else(|_| panic!("{m:?}"));
    let column: u32 = rest
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{m:?}"));
    (line, column)
}

#[tokio::test]
async fn deploy_refusals_store_nothing() {
    let s = server();
    let deploy = "DeployProcessDefinitionCommand";
    // Well-formed XML that is not a valid model: still bpmnXml, with line and column.
    let dangling = definitions(
        "Bad",
        "",
        r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Missing"/>"#,
    );
    let forms_msg = || is("forms must map form keys to form JSON");
    s.table(vec![
        case(
            ADMIN,
            deploy,
            json!({}),
            field_msg("bpmnXml", is("bpmnXml is required")),
        ),
        case(ADMIN, deploy, json!({"bpmnXml": "   "}), field("bpmnXml")),
        case(
            ADMIN,
            deploy,
            json!({"bpmnXml": 42}),
            field_msg("bpmnXml", is("bpmnXml must be a string")),
        ),
        case(
            ADMIN,
            deploy,
            json!({"bpmnXml": dangling}),
            field_msg("bpmnXml", has(&[", column "])),
        ),
        // forms must be an object mapping form keys to form JSON.
        case(
            ADMIN,
            deploy,
            json!({"bpmnXml": loan(), "forms": "loan-review-form"}),
            field_msg("forms", forms_msg()),
        ),
        case(
            ADMIN,
            deploy,
            json!({"bpmnXml": loan(), "forms": [loan_form()]}),
            field_msg("forms", forms_msg()),
        ),
        case(
            ADMIN,
            deploy,
            json!({"bpmnXml": loan(), "forms": 1}),
            field_msg("forms", forms_msg()),
        ),
        case(
            ADMIN,
            deploy,
            json!({"bpmnXml": loan(), "name": 5}),
            field("name"),
        ),
        // A non-administrator may not deploy, even a valid model (and is told before any
        // validation).
        case(
            &s.bob,
            deploy,
            json!({"bpmnXml": loan()}),
            forbidden(has(&["DeployProcessDefinitionCommand", "bob"])),
        ),
        case(&s.mary, deploy, json!({}), forbidden(ANY)),
    ])
    .await;
    let (_, v) = s.exec(ADMIN, deploy, json!({"bpmnXml": dangling})).await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("line "),
        "{v}"
    );

    // Malformed XML: the message names the line and column.
    let broken = format!("<?xml version=\"1.0\"?>\n<bpmn:definitions {NS} id=\"d\">\n  <bpmn:process id=\"p\" isExecutable=\"true\">\n    <bpmn:startEvent id=\"s\">\n  </bpmn:process>\n</bpmn:definitions>");
    s.case(case(
        ADMIN,
        deploy,
        json!({"bpmnXml": broken}),
        field("bpmnXml"),
    ))
    .await;
    let (_, v) = s.exec(ADMIN, deploy, json!({"bpmnXml": broken})).await;
    let (line, column) = line_and_column(v["errors"][0]["message"].as_str().unwrap());
    assert!(
        (4..=5).contains(&line) && column >= 1,
        "the unclosed startEvent is on line 4, closed wrongly on line 5: {v}"
    );

    assert_eq!(
        s.count("GetProcessDefinitionListQuery", json!({})).await,
        0,
        "nothing was stored by the refused deploys"
    );
    s.case(case(
        ADMIN,
        "StartProcessInstanceCommand",
        json!({"processKey": "LoanApprovalProcess"}),
        field("processKey"),
    ))
    .await;
}
