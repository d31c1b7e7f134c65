using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.SlowQueries;

public sealed class SlowQueryOptionsValidationTests
{
    private static Exception? BuildAndStart(IDictionary<string, string?> configuration) => TestApp.StartupError(configuration);

    [Theory]
    [InlineData("ThresholdMs", "-1", "Observability:SlowQueries:ThresholdMs must be >= 0 (0 disables); was -1.")]
    [InlineData("MaxCommandTextLength", "0", "Observability:SlowQueries:MaxCommandTextLength must be >= 1; was 0.")]
    [InlineData("RepeatedQueryThreshold", "-3", "Observability:SlowQueries:RepeatedQueryThreshold must be 0 (disables) or >= 2; was -3.")]
    [InlineData("RepeatedQueryThreshold", "1", "Observability:SlowQueries:RepeatedQueryThreshold must be 0 (disables) or >= 2; was 1.")]
    [InlineData("MaxWarningsPerSecond", "0", "Observability:SlowQueries:MaxWarningsPerSecond must be between 1 and 65536; was 0.")]
    [InlineData("MaxWarningsPerSecond", "100000", "Observability:SlowQueries:MaxWarningsPerSecond must be between 1 and 65536; was 100000.")]
    public void Invalid_value_stops_startup_naming_the_key_and_the_value(string key, string value, string message)
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { [$"Observability:SlowQueries:{key}"] = value });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains(message, validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_and_zeros_that_disable_are_valid()
    {
        Assert.Null(BuildAndStart(new Dictionary<string, string?>()));
        Assert.Null(BuildAndStart(new Dictionary<string, string?>
        {
            ["Observability:SlowQueries:ThresholdMs"] = "0",
            ["Observability:SlowQueries:RepeatedQueryThreshold"] = "0",
            ["Observability:SlowQueries:MaxCommandTextLength"] = "1",
            ["Observability:SlowQueries:RedactLiterals"] = "false",
        }));
    }

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var options = new SlowQueryOptions();

        Assert.Equal(500, options.ThresholdMs);
        Assert.Equal(1000, options.MaxCommandTextLength);
        Assert.True(options.RedactLiterals);
        Assert.Equal(10, options.RepeatedQueryThreshold);
        Assert.Equal(20, options.MaxWarningsPerSecond);
    }
}
