using System.Text;
using Observability.AspNetCore.Metrics;

namespace Observability.AspNetCore.Tests.Metrics;

public sealed class EofDroppingStreamTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(1000)]
    public async Task The_closing_eof_is_dropped_whatever_the_write_sizes(int chunk)
    {
        var document = "# HELP a_total A.\n# TYPE a counter\na_total 1\n# EOF\n"u8.ToArray();
        using var inner = new MemoryStream();

        await using (var stream = new EofDroppingStream(inner))
        {
            for (var i = 0; i < document.Length; i += chunk)
            {
                await stream.WriteAsync(document.AsMemory(i, Math.Min(chunk, document.Length - i)));
            }
        }

        Assert.Equal("# HELP a_total A.\n# TYPE a counter\na_total 1\n", Encoding.UTF8.GetString(inner.ToArray()));
    }

    [Fact]
    public async Task A_document_without_eof_is_passed_through_whole()
    {
        using var inner = new MemoryStream();

        await using (var stream = new EofDroppingStream(inner))
        {
            await stream.WriteAsync("a_total 1\n"u8.ToArray());
        }

        Assert.Equal("a_total 1\n", Encoding.UTF8.GetString(inner.ToArray()));
    }
}
