export { createRestServer } from './rest/rest-server.js';
export type { RestServerOptions } from './rest/rest-server.js';
export { createGrpcServer, grpcServerOptions, grpcServiceName, protoPath } from './grpc/grpc-server.js';
export { frameMessage, installFastUnary } from './grpc/fast-unary.js';
export { frameInvokeResponse } from './grpc/invoke-frame.js';
export type { FastUnaryMethod, FastUnaryOptions } from './grpc/fast-unary.js';
export type { GrpcServer, GrpcServerOptions } from './grpc/grpc-server.js';
export { FunctionsApiClient, fromServiceError } from './grpc/grpc-client.js';
export type {
  DeployRequestMessage,
  FunctionConfigMessage,
  FunctionInfoMessage,
  FunctionsApiClientOptions,
  RegistryEventMessage,
  TopologyMessage,
  TriggerMessage,
} from './grpc/grpc-client.js';
export { fromProtoTrigger, toProtoTrigger, toFunctionInfo } from './grpc/grpc-convert.js';
export { authenticate, authenticateServiceRole } from './authenticate.js';
export type { Authenticator } from './authenticate.js';
export { createFunctionsFacade, toTopologySnapshot } from './functions-facade.js';
export { createServiceSlot } from './service-slot.js';
export type { ServiceSlot } from './service-slot.js';
export type { FunctionsFacadeOptions, PipelinePort, RegistryPort } from './functions-facade.js';
export { collectProcessMetrics, createInvocationMetrics, createReplayMetrics, registerDroppedRecordsMetric } from './metrics.js';
export { registerPipelineMetrics } from './pipeline-metrics.js';
export type { InvocationMetrics, ReplayMetrics } from './metrics.js';
export type {
  DeployInput,
  FunctionConfigInput,
  FunctionsService,
  RegistryHistoryEntry,
  RegistryHistoryQuery,
  RegistryPoint,
  RegistrySnapshot,
  TopologyNodeSnapshot,
  TopologySnapshot,
  UndeployInput,
} from './functions-service.js';
