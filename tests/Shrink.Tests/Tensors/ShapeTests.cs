using System.Globalization;
using Shrink.Tensors;

namespace Shrink.Tests.Tensors;

public class ShapeTests
{
    [Theory]
    [InlineData("1x3x28x28", new[] { 1, 3, 28, 28 })]
    [InlineData("[1, 3, 28, 28]", new[] { 1, 3, 28, 28 })]
    [InlineData("Nx784", new[] { -1, 784 })]
    public void Parse_reads_the_cli_forms(string text, int[] dims) => Assert.Equal(new Shape(dims), Shape.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("1x-3")]
    [InlineData("1x+3")]
    [InlineData("1x3.5")]
    [InlineData("1x99999999999")]
    public void Parse_rejects_what_is_not_a_shape_naming_the_text(string text)
    {
        // "" and "x" used to parse as a scalar shape.
        var e = Assert.Throws<FormatException>(() => Shape.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
    }

    [Fact]
    public void Parse_and_format_ignore_the_current_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            // A (contrived) culture whose positive sign is "1": culture-aware parsing reads "1" as a bare sign and fails.
            var odd = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            odd.NumberFormat.PositiveSign = "1";
            CultureInfo.CurrentCulture = odd;
            Assert.Equal(new Shape(1, 3), Shape.Parse("1x3"));
            Assert.Equal("[N,3]", new Shape(-1, 3).ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Length_of_huge_dimensions_overflows_loudly_instead_of_wrapping()
    {
        Assert.Equal(-1, new Shape(-1, int.MaxValue, int.MaxValue).Length);
        Assert.Throws<OverflowException>(() => new Shape(int.MaxValue, int.MaxValue, int.MaxValue).Length);
    }
}
