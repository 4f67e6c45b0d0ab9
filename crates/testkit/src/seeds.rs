//! Seed 002's examples as the seed prints each element, wrapped in `<definitions>` with the
//! start, end and sequence flows the seed leaves out (and `isExecutable`), for the tests that
//! drive them through the doors with the seed's own payloads.

/// Seed 002's Example 1 (`PaymentApprovalProcess`): a webhook-mode receive task
/// `Task_WaitForPayment` keyed by `context.paymentId`, then the form-mode receive task
/// `Task_ReviewPayment` with the seed's JavaScript ServerScript, a service task, end.
pub const SEED002_EXAMPLE_1: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="Seed002Example1" targetNamespace="http://baton.dev/tests">
<bpmn:process id="PaymentApprovalProcess" isExecutable="true">
<!-- Start process -->
<bpmn:startEvent id="Start" name="Payment Initiated"/>
<!-- Wait for external payment processing -->
<bpmn:receiveTask id="Task_WaitForPayment" name="Wait for Payment Gateway">
<bpmn:extensionElements>
<custom:properties>
<!-- Webhook mode: no form, just wait for callback -->
<custom:property name="correlationKey" value="context.paymentId"/>
<custom:property name="message" value="PaymentProcessed"/>
</custom:properties>
</bpmn:extensionElements>
</bpmn:receiveTask>
<!-- Manager reviews payment details -->
<bpmn:receiveTask id="Task_ReviewPayment" name="Review Payment Details">
<bpmn:extensionElements>
<custom:properties>
<!-- Form mode: has form, needs human approval -->
<custom:property name="form" value="payment-review-form"/>
<custom:property name="correlationKey" value="context.paymentId"/>
<custom:property name="ServerScript" value="
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
"/>
</custom:properties>
</bpmn:extensionElements>
</bpmn:receiveTask>
<!-- Process payment -->
<bpmn:serviceTask id="Task_ProcessPayment" name="Process Payment"/>
<bpmn:endEvent id="End" name="Completed"/>
<bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Task_WaitForPayment"/>
<bpmn:sequenceFlow id="f2" sourceRef="Task_WaitForPayment" targetRef="Task_ReviewPayment"/>
<bpmn:sequenceFlow id="f3" sourceRef="Task_ReviewPayment" targetRef="Task_ProcessPayment"/>
<bpmn:sequenceFlow id="f4" sourceRef="Task_ProcessPayment" targetRef="End"/>
</bpmn:process>
</bpmn:definitions>
"#;

/// Seed 002's Example 2 (`LoanApprovalProcess`): the user task `Task_ManagerReview` for team
/// MANAGERS with the seed's JavaScript ServerScript (the `&&` escaped as XML requires).
pub const SEED002_EXAMPLE_2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="Seed002Example2" targetNamespace="http://baton.dev/tests">
<bpmn:process id="LoanApprovalProcess" isExecutable="true">
<bpmn:startEvent id="Start"/>
<!-- Manager reviews application -->
<bpmn:userTask id="Task_ManagerReview" name="Manager Review">
<bpmn:extensionElements>
<custom:properties>
<custom:property name="FormKey" value="loan-review-form"/>
<custom:property name="ResponsibleTeam" value="MANAGERS"/>
<custom:property name="ServerScript" value="
// Validate approval
if (formData.decision === 'approve' &amp;&amp; !formData.approvedAmount) {
throw new Error('Approved amount is required');
}
return {
approved: formData.decision === 'approve',
approvedAmount: formData.approvedAmount,
approvedBy: currentUser
};
"/>
</custom:properties>
</bpmn:extensionElements>
</bpmn:userTask>
<bpmn:endEvent id="End"/>
<bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Task_ManagerReview"/>
<bpmn:sequenceFlow id="f2" sourceRef="Task_ManagerReview" targetRef="End"/>
</bpmn:process>
</bpmn:definitions>
"#;
