using System.Buffers.Binary;
using Google.Protobuf;
using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Onnx.Proto;
using Shrink.Tensors;

namespace Shrink.Tests.Onnx;

public sealed class TensorFilesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"shrink-tf-{Guid.NewGuid():N}");

    public TensorFilesTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string F(string name) => Path.Combine(_dir, name);

    private static Tensor Sample(params int[] dims)
    {
        var t = new Tensor(new Shape(dims));
        for (int i = 0; i < t.Length; i++) t.Span[i] = i * 0.25f - 3;
        return t;
    }

    [Theory]
    [InlineData("t.pb")]
    [InlineData("t.npy")]
    [InlineData("T.NPY")]
    public void Round_trip(string name)
    {
        var t = Sample(2, 3, 4);
        TensorFiles.Write(F(name), t, "x");
        var back = TensorFiles.Read(F(name));
        Assert.Equal(t.Shape, back.Shape);
        Assert.Equal(t.ToArray(), back.ToArray());
        Assert.Equal([name], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Pb_is_a_float32_tensorproto_with_the_name()
    {
        var p = TensorProto.Parser.ParseFrom(TensorFiles.ToPbBytes(Sample(1, 2), "logits"));
        Assert.Equal("logits", p.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, p.DataType);
        Assert.Equal([1L, 2L], p.Dims);
        Assert.Equal(8, p.RawData.Length);
    }

    [Fact]
    public void Scalar_and_typed_fields()
    {
        var t = new TensorProto { DataType = 1 };
        t.FloatData.Add(2.5f);
        var s = TensorFiles.FromPbBytes(t.ToByteArray(), "s.pb");
        Assert.Equal(0, s.Rank);
        Assert.Equal(2.5f, s[0]);
    }

    [Fact]
    public void Double_int64_and_uint8_convert_to_float()
    {
        var d = new TensorProto { DataType = (int)TensorProto.Types.DataType.Double, Dims = { 2 } };
        d.DoubleData.Add([1.5, -2]);
        Assert.Equal([1.5f, -2f], TensorFiles.FromPbBytes(d.ToByteArray(), "d.pb").ToArray());

        var raw = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(raw, 7);
        BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8), -9);
        var l = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 2 }, RawData = ByteString.CopyFrom(raw) };
        Assert.Equal([7f, -9f], TensorFiles.FromPbBytes(l.ToByteArray(), "l.pb").ToArray());

        var u = new TensorProto { DataType = (int)TensorProto.Types.DataType.Uint8, Dims = { 3 }, RawData = ByteString.CopyFrom(0, 128, 255) };
        Assert.Equal([0f, 128f, 255f], TensorFiles.FromPbBytes(u.ToByteArray(), "u.pb").ToArray());

        Shrink.Tests.Data.DataFixtures.WriteNpy(F("d.npy"), "<f8", [2], BitConverter.GetBytes(0.5).Concat(BitConverter.GetBytes(4.0)).ToArray());
        Assert.Equal([0.5f, 4f], TensorFiles.Read(F("d.npy")).ToArray());
    }

    [Fact]
    public void Other_types_are_refused_naming_the_file()
    {
        var b = new TensorProto { DataType = (int)TensorProto.Types.DataType.Bool, Dims = { 1 } };
        b.Int32Data.Add(1);
        var e = Assert.Throws<ShrinkException>(() => TensorFiles.FromPbBytes(b.ToByteArray(), "flags.pb"));
        Assert.Contains("flags.pb", e.Message);
        Assert.Contains("bool", e.Message);

        Shrink.Tests.Data.DataFixtures.WriteNpy(F("i.npy"), "<i4", [1], new byte[4]);
        e = Assert.Throws<ShrinkException>(() => TensorFiles.Read(F("i.npy")));
        Assert.Contains("i.npy", e.Message);
        Assert.Contains("int32", e.Message);
    }

    [Fact]
    public void Not_a_tensor_truncated_empty_missing()
    {
        File.WriteAllText(F("text.pb"), "definitely not protobuf");
        Assert.Contains("text.pb", Assert.Throws<ShrinkException>(() => TensorFiles.Read(F("text.pb"))).Message);

        File.WriteAllBytes(F("empty.pb"), []);
        Assert.Contains("empty", Assert.Throws<ShrinkException>(() => TensorFiles.Read(F("empty.pb"))).Message);

        var full = TensorFiles.ToPbBytes(Sample(4, 4), "x");
        for (int cut = 1; cut < full.Length; cut += 5)
        {
            File.WriteAllBytes(F("cut.pb"), full[..cut]);
            var e = Assert.ThrowsAny<ShrinkException>(() => TensorFiles.Read(F("cut.pb")));
            Assert.Contains("cut.pb", e.Message);
        }

        TensorFiles.Write(F("x.npy"), Sample(4, 4));
        File.WriteAllBytes(F("cut.npy"), File.ReadAllBytes(F("x.npy"))[..100]);
        var n = Assert.Throws<ShrinkException>(() => TensorFiles.Read(F("cut.npy")));
        Assert.Contains("cut.npy", n.Message);
        Assert.Contains("truncated", n.Message);

        Assert.Contains("missing.pb", Assert.Throws<ShrinkException>(() => TensorFiles.Read(F("missing.pb"))).Message);
        Assert.Contains(".txt", Assert.Throws<ShrinkException>(() => TensorFiles.Read(F("x.txt"))).Message);
    }

    [Fact]
    public void A_model_file_is_not_a_tensor()
    {
        using var ms = new MemoryStream();
        OnnxModel.Save(Shrink.Zoo.ModelZoo.Create("lenet5"), ms);
        Assert.ThrowsAny<ShrinkException>(() => TensorFiles.FromPbBytes(ms.ToArray(), "model.pb"));
    }

    [Fact]
    public void WriteAll_is_all_or_nothing()
    {
        var files = new List<(string, Tensor, string?)> { (F("a.pb"), Sample(2), "a"), (F("b.npy"), Sample(3), "b") };
        TensorFiles.WriteAll(files);
        Assert.Equal(["a.pb", "b.npy"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());

        var bad = new List<(string, Tensor, string?)> { (F("c.pb"), Sample(2), "c"), (F("d.txt"), Sample(3), "d") };
        Assert.Throws<ShrinkException>(() => TensorFiles.WriteAll(bad));
        Assert.Equal(["a.pb", "b.npy"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
    }
}
