// System.Numerics.Tensors also defines a Tensor type; Shrink code uses only its TensorPrimitives.
global using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
