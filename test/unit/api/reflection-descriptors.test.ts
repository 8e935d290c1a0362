import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { fixMapEntryNames } from '../../../src/api/grpc/reflection-descriptors.js';

function healthListResponse(definition: ReturnType<typeof loadSync>) {
  const bytes = (definition['grpc.health.v1.HealthListResponse'] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos[0]!;
  const file = fromBinary(FileDescriptorProtoSchema, bytes);
  return file.messageType.find((message) => message.name === 'HealthListResponse')!;
}

describe('reflection descriptors', () => {
  it('renames protobufjs map entries to the names protoc gives them', () => {
    const before = healthListResponse(loadSync(healthProtoPath));
    assert.equal(before.nestedType[0]?.name, 'Statuses', 'protobufjs still names map entries after the field; the fix may be obsolete');

    const after = healthListResponse(fixMapEntryNames(loadSync(healthProtoPath)));
    assert.equal(after.nestedType[0]?.name, 'StatusesEntry');
    assert.equal(after.nestedType[0]?.options?.mapEntry, true);
    const field = after.field.find((f) => f.name === 'statuses')!;
    assert.match(field.typeName, /(^|\.)StatusesEntry$/);
  });
});
