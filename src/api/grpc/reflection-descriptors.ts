import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto } from '@bufbuild/protobuf/wkt';
import type { PackageDefinition } from '@grpc/proto-loader';

/**
 * proto-loader (protobufjs) names the implicit entry type of a `map<K,V> foo` field `Foo` where
 * protoc names it `FooEntry`; Go clients such as grpcurl then refuse the whole file ("invalid
 * map: incorrect implicit map entry name"). The health proto has a map, so without this fix
 * `grpcurl … grpc.health.v1.Health/Check` fails. We rename the entries in the descriptors that
 * server reflection hands out.
 */
export function fixMapEntryNames(definition: PackageDefinition): PackageDefinition {
  const fixed = new Map<Buffer, Buffer>();
  const fix = (bytes: Buffer): Buffer => {
    let result = fixed.get(bytes);
    if (result === undefined) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      let changed = false;
      for (const message of file.messageType) changed = renameEntries(message) || changed;
      result = changed ? Buffer.from(toBinary(FileDescriptorProtoSchema, file)) : bytes;
      fixed.set(bytes, result);
    }
    return result;
  };
  for (const entry of Object.values(definition)) {
    const holder = entry as { fileDescriptorProtos?: Buffer[] };
    if (Array.isArray(holder.fileDescriptorProtos)) holder.fileDescriptorProtos = holder.fileDescriptorProtos.map(fix);
  }
  return definition;
}

function renameEntries(message: DescriptorProto): boolean {
  let changed = false;
  for (const nested of message.nestedType) {
    changed = renameEntries(nested) || changed;
    if (nested.options?.mapEntry !== true || nested.name.endsWith('Entry')) continue;
    const oldName = nested.name;
    nested.name = `${oldName}Entry`;
    for (const field of message.field) {
      const parts = field.typeName.split('.');
      if (parts[parts.length - 1] === oldName) {
        parts[parts.length - 1] = nested.name;
        field.typeName = parts.join('.');
      }
    }
    changed = true;
  }
  return changed;
}
