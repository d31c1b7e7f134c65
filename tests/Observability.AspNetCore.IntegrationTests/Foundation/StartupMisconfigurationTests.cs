using System.Globalization;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// A bad setting must stop the real process at startup, non-zero (so the orchestrator marks the rollout failed instead
/// of routing traffic to it), with output that tells the operator which key to fix and what it said.
/// </summary>
public sealed class StartupMisconfigurationTests
{
    [Theory]
    [InlineData("Observability__Metrics__Path", "metrics", "Observability:Metrics:Path")]
    [InlineData("Observability__RequestId__Header", "bad header", "Observability:RequestId:Header")]
    [InlineData("Observability__RequestId__Header", "Content-Length", "Observability:RequestId:Header")]
    [InlineData("Observability__Health__Detailed__Access", "1", "Observability:Health:Detailed:Access")]
    [InlineData("Observability__Health__Path", "/", "Observability:Health:Path")]
    [InlineData("Observability__SlowRequests__Routes__0__Route", "/api/itemz", "Observability:SlowRequests:Routes:0:Route")]
    [InlineData("Serilog__MinimumLevel__Default", "INFO", "Serilog:MinimumLevel:Default")]
    public async Task Bad_setting_from_the_environment_stops_the_process_at_startup_naming_the_key_and_the_value(
        string variable, string badValue, string key)
    {
        using var directory = TempDirectory.Create("obs-misconf");
        var dll = AppProcess.SampleApiDllPath();
        var url = $"http://127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}";

        // Not AppProcess: it waits for the app to answer HTTP, and this one must never get that far. The timeout turns
        // "the app started anyway and keeps running" into a failure instead of a hang.
        var result = await ProcessRunner.RunAsync(
            DotnetHost.Path,
            [dll, "--urls", url],
            timeout: TimeSpan.FromSeconds(30),
            workingDirectory: Path.GetDirectoryName(dll),
            environment: SampleApiProcess.Environment(directory, new Dictionary<string, string?> { [variable] = badValue }));

        Assert.True(result.ExitCode != 0, $"The process must fail at startup.\n{result}");
        Assert.Contains(key, result.CombinedOutput, StringComparison.Ordinal);
        Assert.Contains($"'{badValue}'", result.CombinedOutput, StringComparison.Ordinal);
    }
}
