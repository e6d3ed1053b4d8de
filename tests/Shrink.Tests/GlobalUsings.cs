global using Xunit;
global using Tensor = Shrink.Tensors.Tensor;
