using System.Globalization;
using Observability.AspNetCore.Pipeline;

namespace Observability.AspNetCore.Tests.SlowRequests;

public sealed class ResponseTimeFormatTests
{
    [Theory]
    [InlineData(0, "0ms")]
    [InlineData(0.004, "0ms")]
    [InlineData(0.05, "0.05ms")]
    [InlineData(0.5, "0.5ms")]
    [InlineData(12, "12ms")]
    [InlineData(12.3, "12.3ms")]
    [InlineData(12.34, "12.34ms")]
    [InlineData(12.305, "12.31ms")]
    [InlineData(9.999, "10ms")]
    [InlineData(1234.5678, "1234.57ms")]
    [InlineData(86_400_000.1, "86400000.1ms")]
    public void Response_time_has_up_to_two_decimals_and_no_trailing_zeros(double milliseconds, string expected)
    {
        Assert.Equal(expected, ObservabilityMiddleware.FormatResponseTime(milliseconds));
    }

    [Fact]
    public void Response_time_matches_the_0_hash_hash_format_over_a_range_of_values()
    {
        // Values away from exact .xx5 ties, where binary doubles make either rounding defensible.
        var random = new Random(42);
        for (var i = 0; i < 10_000; i++)
        {
            var value = Math.Round(random.NextDouble() * 5000, 4);
            if (Math.Abs((value * 1000 % 10) - 5) < 0.01)
            {
                continue;
            }

            Assert.Equal(value.ToString("0.##", CultureInfo.InvariantCulture) + "ms", ObservabilityMiddleware.FormatResponseTime(value));
        }
    }

    [Fact]
    public void Response_times_under_10ms_are_the_same_text_when_built_and_when_reused()
    {
        // Under 10 ms the text is built once and reused: the first and every later answer must both be "0.##" text.
        for (var hundredths = 0; hundredths < 1100; hundredths++)
        {
            var value = hundredths / 100.0;
            var expected = value.ToString("0.##", CultureInfo.InvariantCulture) + "ms";
            Assert.Equal(expected, ObservabilityMiddleware.FormatResponseTime(value));
            Assert.Equal(expected, ObservabilityMiddleware.FormatResponseTime(value + 0.001));
        }
    }
}
