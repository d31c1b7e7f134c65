using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// A host that cannot start (its port is taken) must read as one failure: the real cause, not also the library's
/// background services complaining that their wait was cancelled when the host gave up.
/// </summary>
public sealed class StartupFailureTests
{
    [Fact]
    public async Task Port_already_taken_stops_the_process_with_only_the_real_cause_in_the_log()
    {
        using var directory = TempDirectory.Create("obs-port-taken");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var dll = AppProcess.SampleApiDllPath();

        // Not AppProcess: it waits for the app to answer HTTP, and this one never does.
        var result = await ProcessRunner.RunAsync(
            DotnetHost.Path,
            [dll, "--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"],
            timeout: TimeSpan.FromSeconds(60),
            workingDirectory: Path.GetDirectoryName(dll),
            environment: SampleApiProcess.Environment(directory));

        Assert.True(result.ExitCode != 0, $"The process must fail at startup.\n{result}");
        Assert.Contains("address already in use", result.CombinedOutput, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("BackgroundService failed", result.CombinedOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("BackgroundServiceExceptionBehavior", result.CombinedOutput, StringComparison.Ordinal);

        // Every Error or Fatal line the operator sees is about the bind.
        var failures = JsonLines(result.Stdout).Where(e => e.Level() is "Error" or "Fatal").ToList();
        Assert.NotEmpty(failures);
        Assert.All(failures, e => Assert.Contains("address already in use", e.StringProperty("@x") ?? "", StringComparison.OrdinalIgnoreCase));
    }

    private static IEnumerable<JsonElement> JsonLines(string stdout)
    {
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('{'))
            {
                using var document = JsonDocument.Parse(line);
                yield return document.RootElement.Clone();
            }
        }
    }
}
