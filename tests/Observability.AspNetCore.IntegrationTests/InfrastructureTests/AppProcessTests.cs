using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

/// <summary>
/// AppProcess against the sample API is exercised by the feature tests; here only what needs no app:
/// failure reporting, and that the build put the sample where <see cref="AppProcess.SampleApiDllPath"/> looks.
/// </summary>
public sealed class AppProcessTests
{
    [Fact]
    public async Task App_process_fails_fast_with_the_captured_stderr_when_the_app_cannot_start()
    {
        using var directory = TempDirectory.Create("obs-app");
        var notAnApp = directory.Combine("NotAnApp.dll");
        await File.WriteAllTextAsync(notAnApp, "this is not an assembly");

        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => AppProcess.StartAsync(notAnApp, new Dictionary<string, string?>()));

        Assert.Contains("exited with code", error.Message, StringComparison.Ordinal);
        // The dotnet host's complaint (on stderr) must be in the message, or nobody could diagnose a CI failure.
        Assert.Contains("runtimeconfig.json", error.Message, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "should not wait for the readiness timeout");
    }

    [Fact]
    public void Sample_api_is_copied_to_the_test_output_with_its_runtimeconfig_and_deps()
    {
        var dll = AppProcess.SampleApiDllPath();

        Assert.True(File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")));
        Assert.True(File.Exists(Path.ChangeExtension(dll, ".deps.json")));
    }
}
