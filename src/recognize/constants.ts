import type { Value } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';

/** The tensor a value always holds: an initializer, or the output of a Constant node. */
export function constantOf(value: Value | null): Tensor | undefined {
  if (!value) return undefined;
  if (value.constant) return value.constant;
  const producer = value.producer;
  if (!producer || producer.opType !== 'Constant' || producer.domain !== '' || producer.attributes.length !== 1) return undefined;
  const v = producer.attributes[0]!.value;
  switch (producer.attributes[0]!.name) {
    case 'value':
      return v.kind === 'tensor' ? v.value : undefined;
    case 'value_float':
      return v.kind === 'float' ? Tensor.float32([], [v.value]) : undefined;
    case 'value_floats':
      return v.kind === 'floats' ? Tensor.float32([v.value.length], v.value) : undefined;
    case 'value_int':
      return v.kind === 'int' ? Tensor.int64([], [v.value]) : undefined;
    case 'value_ints':
      return v.kind === 'ints' ? Tensor.int64([v.value.length], v.value) : undefined;
    default:
      return undefined;
  }
}
