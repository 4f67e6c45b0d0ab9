// Generated from crates/runtime/src/commands.rs by ts-rs: do not edit.
// Regenerate with: BATON_UPDATE_TYPES=1 cargo test -p baton-runtime --test ts_types

/**
 * The answer of every command: `data` on success (and on some failures, e.g. a deploy's
 * `problems`), `errors` when a field was wrong.
 */
export type Envelope<T> = {
  isSuccessful: boolean;
  message: string;
  data?: T;
  errors?: Array<FieldError>;
  /**
   * Why it failed (failures only; docs/commands.md "Error codes").
   */
  code?: ErrorCode;
};

/**
 * Why a command failed, as a stable code (`"NOT_FOUND"`, ...) that clients may branch on.
 */
export type ErrorCode = "INVALID" | "NOT_FOUND" | "CONFLICT" | "FORBIDDEN" | "REJECTED" | "DUPLICATE" | "INTERNAL" | "UNKNOWN_COMMAND" | "BAD_REQUEST" | "UNAUTHORIZED" | "RATE_LIMITED";

/**
 * A field-level validation error, as the seed 000 envelope shows it.
 */
export type FieldError = {
  field: string;
  message: string;
};

/**
 * One thing wrong with a model, where it is (`baton lint --json` prints these).
 */
export type Problem = {
  severity: Severity;
  /**
   * The BPMN id of the element, when the problem belongs to one.
   */
  elementId: string | null;
  line: number;
  column: number;
  message: string;
};

export type Severity = "error" | "warning";

/**
 * The `data` of a deploy or a validation that failed: every problem, with its element.
 */
export type ProblemsData = {
  problems: Array<Problem>;
};

/**
 * One committed change of a process instance (the UI reads this type, generated into
 * `ui/src/generated/commands.ts`).
 */
export type InstanceChange = {
  instanceGuid: string;
  processKey: string;
  processDefinitionId: number;
  /**
   * The status after the step: `WAITING`, `COMPLETED`, `FAILED`, `CANCELLED` or `RUNNING`.
   */
  status: InstanceStatus;
  /**
   * When the step was committed, RFC 3339 UTC with six fractional digits.
   */
  at: string;
};

/**
 * One request the webhook door (`/webhook/...`) answered, published after its row was written to
 * the request log (`GetWebhookRequestListQuery`; a request whose row could not be written is
 * announced all the same, without a `requestId`). Pushed to administrators only: the log holds
 * what gateways sent. It says which row the log gained and how the request ended; the list
 * query reads the row.
 */
export type WebhookRequestEvent = {
  /**
   * The path the request was sent to, e.g. `/webhook/paystack`.
   */
  path: string;
  /**
   * The HTTP status it was answered with.
   */
  statusCode: number;
  /**
   * The request's row in the log; null when no row could be written.
   */
  requestId: number | null;
  /**
   * The configuration the request reached; null when none is configured at its path.
   */
  configId: number | null;
  /**
   * The verdict its row was recorded with (`accepted`, `duplicate`, `badSignature`, ... as
   * `GetWebhookRequestListQuery` filters them); null when no row could be written.
   */
  verdict: string | null;
  /**
   * When it was answered, RFC 3339 UTC with six fractional digits.
   */
  at: string;
};

/**
 * A run of a recurring job that started or ended, published after its row was written
 * (`GetRecurringJobRunListQuery` reads it). A run that ends without starting a process changes
 * no instance, so the jobs view would otherwise not hear of it.
 */
export type JobRunEvent = {
  jobId: number;
  runId: number;
  /**
   * `Running` when it starts (`Skipped` for a run the overlap policy skipped), then
   * `Succeeded` or `Failed`.
   */
  status: string;
  /**
   * When the row was written, RFC 3339 UTC with six fractional digits.
   */
  at: string;
};

/**
 * The status of a process instance (`RUNNING` is transient).
 */
export type InstanceStatus = "RUNNING" | "WAITING" | "COMPLETED" | "FAILED" | "CANCELLED";

/**
 * The status of a CallbackRegistry row (seed 002).
 */
export type CallbackStatus = "Pending" | "Completed" | "Failed" | "Expired";

/**
 * What an instance waits on.
 */
export type WaitingTask = {
  taskId: string;
  elementId: string;
  /**
   * `userTask`, `receiveTask`, `messageCatch`, `timer`, `signalCatch`, `conditionalCatch`,
   * `eventGateway`, `callActivity`, `retry` (a task whose run failed, waiting for its next
   * attempt at `due`).
   */
  taskType: string;
  name: string | null;
  correlationKey?: string;
  formKey?: string;
  message?: string;
  signal?: string;
  /**
   * When a timer falls due (RFC 3339).
   */
  due?: string;
  responsibleUser?: string;
  responsibleTeam?: string;
  /**
   * Who the task is assigned to (seed 003's assignAction), when anyone.
   */
  assignee?: string;
  /**
   * The activity's local variables: its input parameters (`camunda:inputOutput`), when it
   * has any.
   */
  localVariables?: Record<string, unknown>;
};

/**
 * An open incident.
 */
export type Incident = {
  elementId: string;
  message: string;
};

/**
 * A page of a list.
 */
export type Page<T> = {
  items: Array<T>;
  totalCount: number;
};

export type DeployProcessDefinitionInput = {
  bpmnXml: string;
  name?: string;
  /**
   * `{formKey: formJson}`: the forms the model's FormKeys name.
   */
  forms?: Record<string, unknown>;
};

export type DeployProcessDefinitionOutput = {
  processDefinitionId: number;
  processKey: string;
  version: number;
  warnings: Array<Problem>;
};

export type ValidateProcessDefinitionInput = {
  bpmnXml: string;
};

/**
 * A process of a model and its size (flow nodes and sequence flows at every depth).
 */
export type ProcessSummary = {
  id: string;
  flowNodes: number;
  sequenceFlows: number;
};

/**
 * What `baton lint --json` prints and ValidateProcessDefinitionQuery answers.
 */
export type ValidateProcessDefinitionOutput = {
  processes: Array<ProcessSummary>;
  problems: Array<Problem>;
};

export type GetProcessDefinitionListInput = {
  processKey?: string;
  pageNumber?: number;
  pageSize?: number;
};

/**
 * A deployed definition in a list (without its XML).
 */
export type ProcessDefinitionSummary = {
  processDefinitionId: number;
  processKey: string;
  version: number;
  name: string | null;
  /**
   * `{formKey: formJson}` as deployed.
   */
  forms: Record<string, unknown>;
  deployedAt: string;
};

/**
 * A definition by `processDefinitionId`, or the newest version of `processKey`.
 */
export type DefinitionRef = {
  processDefinitionId?: number;
  processKey?: string;
};

/**
 * A deployed definition with its XML.
 */
export type ProcessDefinition = {
  processDefinitionId: number;
  processKey: string;
  version: number;
  name: string | null;
  bpmnXml: string;
  forms: Record<string, unknown>;
  deployedAt: string;
};

/**
 * An event subscription of one instance (seed 004's `config.subscriptions`).
 */
export type InstanceSubscription = {
  /**
   * An http:// or https:// address.
   */
  url: string;
  /**
   * Event names such as `workflow.state.changed`, or `["*"]`.
   */
  events: Array<string>;
  /**
   * A Standard Webhooks secret `whsec_<base64>`; generated when absent.
   */
  secret?: string;
};

export type StartConfig = {
  subscriptions?: Array<InstanceSubscription>;
};

export type StartProcessInstanceInput = {
  /**
   * The definition to start; or `processKey` for the newest version of a key.
   */
  processDefinitionId?: number;
  processKey?: string;
  variables?: Record<string, unknown>;
  /**
   * The seed's name for `variables`.
   */
  context?: Record<string, unknown>;
  businessKey?: string;
  correlationId?: string;
  /**
   * Checked by the handler (its messages name the subscription at fault).
   */
  config?: StartConfig;
};

export type StartProcessInstanceOutput = {
  instanceGuid: string;
  status: InstanceStatus;
  waiting: Array<WaitingTask>;
};

export type SignalProcessInstanceInput = {
  instanceGuid: string;
  /**
   * The submitted form (a JSON object).
   */
  callbackData?: Record<string, unknown>;
  /**
   * The legacy name of `callbackData`.
   */
  signalPayload?: Record<string, unknown>;
  /**
   * The waiting task to complete, when the instance waits on more than one.
   */
  taskId?: string;
};

export type SignalProcessInstanceOutput = {
  instanceGuid: string;
  status: InstanceStatus;
  /**
   * `userTask` or `receiveTask`.
   */
  taskType: string;
  /**
   * What landed in `lastUserTaskResult` / `lastReceiveTaskResult`.
   */
  result: unknown;
  waiting: Array<WaitingTask>;
};

export type ReturnCallbackInput = {
  correlationKey: string;
  /**
   * The callback's payload (`{}` when absent).
   */
  result: unknown;
  /**
   * Keep the callback this long when no receive task has registered the key yet.
   */
  ttlSeconds?: number;
};

/**
 * A callback processed (`instanceGuid`, `status`), a duplicate (`duplicate: true`) or
 * buffered (`callbackStatus: "Buffered"`, `bufferId`, `expiresAt`).
 */
export type ReturnCallbackOutput = {
  instanceGuid?: string;
  status?: InstanceStatus;
  /**
   * `Completed` or `Buffered`.
   */
  callbackStatus: string;
  bufferId?: number;
  expiresAt?: string;
  duplicate: boolean;
  /**
   * A duplicate whose result differs from the one applied (not applied either; kept in
   * the instance's history as `callbackConflict`). Present only then.
   */
  conflict?: boolean;
};

export type CorrelateMessageInput = {
  messageName: string;
  correlationKey?: string;
  variables?: Record<string, unknown>;
  /**
   * A repeated `messageId` is answered as a duplicate.
   */
  messageId?: string;
  /**
   * Keep the message this long when nothing waits for it (0: discard it).
   */
  ttlSeconds?: number;
};

/**
 * Correlated to an instance, started one (`started`), buffered or discarded.
 */
export type CorrelateMessageOutput = {
  correlated: boolean;
  buffered: boolean;
  started?: boolean;
  processDefinitionId?: number;
  instanceGuid?: string;
  status?: InstanceStatus;
  expiresAt?: string;
  bufferId?: number;
  duplicate: boolean;
};

export type BroadcastSignalInput = {
  signalName: string;
  variables?: Record<string, unknown>;
};

export type BroadcastSignalOutput = {
  /**
   * The instances the signal resumed.
   */
  instances: Array<string>;
  /**
   * The instances its signal start events started.
   */
  started: Array<string>;
};

export type CancelProcessInstanceInput = {
  instanceGuid: string;
  reason?: string;
};

export type CancelProcessInstanceOutput = {
  instanceGuid: string;
  status: InstanceStatus;
};

export type RetryIncidentInput = {
  /**
   * The instance whose incidents are retried (required unless `processDefinitionId` and
   * `elementId` name a timer start event's incident).
   */
  instanceGuid?: string;
  /**
   * With `elementId`, instead of `instanceGuid`: the timer start event whose incident is
   * retried (administrators; the answer is the instance its attempt started).
   */
  processDefinitionId?: number;
  elementId?: string;
  /**
   * Variables to set before the failed element runs again (for a timer start event: the
   * variables the instance starts with).
   */
  variables?: Record<string, unknown>;
};

export type RetryIncidentOutput = {
  instanceGuid: string;
  status: InstanceStatus;
  /**
   * The incidents still open.
   */
  incidents: Array<Incident>;
};

/**
 * A query on one instance.
 */
export type InstanceRef = {
  instanceGuid: string;
};

export type ProcessInstance = {
  instanceGuid: string;
  processDefinitionId: number;
  processKey: string | null;
  status: InstanceStatus;
  businessKey: string | null;
  correlationId: string | null;
  variables: Record<string, unknown>;
  waiting: Array<WaitingTask>;
  incidents: Array<Incident>;
  /**
   * Flow-node ids in the order they were entered.
   */
  path: Array<string>;
  startedAt: string;
  endedAt: string | null;
};

export type GetProcessInstanceListInput = {
  status?: InstanceStatus;
  processKey?: string;
  pageNumber?: number;
  pageSize?: number;
};

export type ProcessInstanceSummary = {
  instanceGuid: string;
  processDefinitionId: number;
  status: InstanceStatus;
  businessKey: string | null;
  correlationId: string | null;
  startedAt: string;
  endedAt: string | null;
};

/**
 * One event of an instance's history.
 */
export type HistoryEntry = {
  at: string;
  /**
   * `elementEntered`, `elementCompleted`, `elementCancelled`, `variablesChanged`,
   * `callbackRegistered`, `incidentRaised`, ...
   */
  kind: string;
  elementId: string | null;
  /**
   * The event's details as JSON text.
   */
  data: string | null;
  /**
   * 1, 2, ... in order.
   */
  seq: number;
};

/**
 * The history, oldest event first.
 */
export type GetInstanceHistoryOutput = Array<HistoryEntry>;

export type GetTaskFormInput = {
  instanceGuid?: string;
  /**
   * Finds the instance by the `correlationId` it was started with.
   */
  correlationId?: string;
  taskId?: string;
};

export type TaskFormMetadata = {
  instanceGuid: string;
  taskName: string | null;
  responsibleUser: string | null;
  responsibleTeam: string | null;
};

export type GetTaskFormOutput = {
  /**
   * `SUCCESS`.
   */
  status: string;
  /**
   * `userTask` or `receiveTask`.
   */
  taskType: string;
  taskId: string;
  formKey: string | null;
  /**
   * The form-js schema deployed for `formKey` (null when none).
   */
  formJson: unknown;
  /**
   * The instance's variables.
   */
  context: Record<string, unknown>;
  metadata: TaskFormMetadata;
};

export type GetTaskListInput = {
  /**
   * An administrator's view of what this user may work on.
   */
  userName?: string;
  team?: string;
  /**
   * Only the tasks this user holds (seed 003's assignAction).
   */
  assignee?: string;
  pageNumber?: number;
  pageSize?: number;
};

/**
 * An open form task (userTask or form-mode receiveTask).
 */
export type TaskItem = {
  instanceGuid: string;
  taskId: string;
  taskType: string;
  name: string | null;
  formKey: string | null;
  responsibleUser: string | null;
  responsibleTeam: string | null;
  createdAt: string;
  /**
   * Who holds the task (seed 003's assignAction); null: nobody.
   */
  assignee: string | null;
};

export type GetCallbackRegistryListInput = {
  status?: CallbackStatus;
  instanceGuid?: string;
  /**
   * Rows whose correlation key contains this text (ASCII letters in either case).
   */
  correlationKey?: string;
  /**
   * Rows of instances of any version of this process.
   */
  processKey?: string;
  /**
   * With either of these the answer is a page, newest first (`{items, totalCount}`);
   * without, every row, oldest first, as seed 002's clients read it.
   */
  pageNumber?: number;
  pageSize?: number;
};

/**
 * A CallbackRegistry row, with the field names of seed 002.
 */
export type CallbackRegistryEntry = {
  Id: number;
  ParentInstanceId: string;
  CallbackTaskId: string;
  CorrelationKey: string | null;
  CallbackType: string;
  Status: CallbackStatus;
  ParentProcessState: string | null;
  ResultData: string | null;
  CompletedAt: string | null;
  WebhookUrl: string | null;
  MessageRef: string | null;
  TimeoutMinutes: number | null;
  /**
   * Set for a form-mode receive task; absent (null) in webhook mode.
   */
  FormKey: string | null;
  /**
   * Duplicate callbacks with a result other than the applied one (none applied). Present
   * only when there was one, with the newest's time and result (JSON text, as ResultData).
   */
  ConflictCount?: number;
  LastConflictAt?: string;
  ConflictingResult?: string;
};

/**
 * Every row (no paging asked), or a page of them.
 */
export type GetCallbackRegistryListOutput = Array<CallbackRegistryEntry> | Page<CallbackRegistryEntry>;

export type GetCronPreviewInput = {
  cronExpression: string;
  /**
   * An IANA zone name (default `UTC`).
   */
  timeZone?: string;
  /**
   * How many run times (default 5).
   */
  count?: number;
  /**
   * Preview from this RFC 3339 time instead of now.
   */
  from?: string;
};

export type GetCronPreviewOutput = {
  cronExpression: string;
  timeZone: string;
  /**
   * The next run times in UTC (RFC 3339).
   */
  nextRunTimes: Array<string>;
  /**
   * The same times in the job's zone, with their offset.
   */
  localTimes: Array<string>;
};

/** The name of every command with typed input and output. */
export type CommandName =
  | "DeployProcessDefinitionCommand"
  | "ValidateProcessDefinitionQuery"
  | "GetProcessDefinitionListQuery"
  | "GetProcessDefinitionByIdQuery"
  | "StartProcessInstanceCommand"
  | "SignalProcessInstanceCommand"
  | "ReturnCallbackCommand"
  | "CorrelateMessageCommand"
  | "BroadcastSignalCommand"
  | "CancelProcessInstanceCommand"
  | "RetryIncidentCommand"
  | "GetProcessInstanceByIdQuery"
  | "GetProcessInstanceListQuery"
  | "GetInstanceHistoryQuery"
  | "GetTaskFormQuery"
  | "GetTaskListQuery"
  | "GetCallbackRegistryListQuery"
  | "GetCronPreviewQuery";

/** Each command's `data` (input) and its answer's `data` (output). */
export interface Commands {
  "DeployProcessDefinitionCommand": { input: DeployProcessDefinitionInput; output: DeployProcessDefinitionOutput };
  "ValidateProcessDefinitionQuery": { input: ValidateProcessDefinitionInput; output: ValidateProcessDefinitionOutput };
  "GetProcessDefinitionListQuery": { input: GetProcessDefinitionListInput; output: Page<ProcessDefinitionSummary> };
  "GetProcessDefinitionByIdQuery": { input: DefinitionRef; output: ProcessDefinition };
  "StartProcessInstanceCommand": { input: StartProcessInstanceInput; output: StartProcessInstanceOutput };
  "SignalProcessInstanceCommand": { input: SignalProcessInstanceInput; output: SignalProcessInstanceOutput };
  "ReturnCallbackCommand": { input: ReturnCallbackInput; output: ReturnCallbackOutput };
  "CorrelateMessageCommand": { input: CorrelateMessageInput; output: CorrelateMessageOutput };
  "BroadcastSignalCommand": { input: BroadcastSignalInput; output: BroadcastSignalOutput };
  "CancelProcessInstanceCommand": { input: CancelProcessInstanceInput; output: CancelProcessInstanceOutput };
  "RetryIncidentCommand": { input: RetryIncidentInput; output: RetryIncidentOutput };
  "GetProcessInstanceByIdQuery": { input: InstanceRef; output: ProcessInstance };
  "GetProcessInstanceListQuery": { input: GetProcessInstanceListInput; output: Page<ProcessInstanceSummary> };
  "GetInstanceHistoryQuery": { input: InstanceRef; output: GetInstanceHistoryOutput };
  "GetTaskFormQuery": { input: GetTaskFormInput; output: GetTaskFormOutput };
  "GetTaskListQuery": { input: GetTaskListInput; output: Page<TaskItem> };
  "GetCallbackRegistryListQuery": { input: GetCallbackRegistryListInput; output: GetCallbackRegistryListOutput };
  "GetCronPreviewQuery": { input: GetCronPreviewInput; output: GetCronPreviewOutput };
}
