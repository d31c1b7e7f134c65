using System.Diagnostics;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.InfrastructureTests;

public sealed class ProcessRunnerTests
{
    [Fact]
    public async Task Process_runner_captures_exit_code_stdout_stderr_and_feeds_stdin()
    {
        var result = await ProcessRunner.RunAsync(
            "sh", ["-c", "cat; echo to-stderr >&2; exit 3"], standardInput: "from-stdin\n");

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.Succeeded);
        Assert.Equal("from-stdin\n", result.Stdout);
        Assert.Equal("to-stderr\n", result.Stderr);
    }

    [Fact]
    public async Task Process_runner_passes_arguments_verbatim_without_a_shell()
    {
        // Spaces, an empty argument, quotes and a $ must arrive exactly as given.
        var result = await ProcessRunner.RunCheckedAsync("printf", ["[%s]\\n", "a b", "", "it's", "$HOME"]);

        Assert.Equal("[a b]\n[]\n[it's]\n[$HOME]\n", result.Stdout);
    }

    [Fact]
    public async Task Process_runner_kills_a_command_that_outlives_its_timeout()
    {
        var stopwatch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(
            () => ProcessRunner.RunAsync("sleep", ["30"], timeout: TimeSpan.FromMilliseconds(500)));

        Assert.Contains("sleep 30", error.Message, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Process_runner_explains_a_missing_executable()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => ProcessRunner.RunAsync("definitely-not-an-installed-tool-42", []));

        Assert.Contains("definitely-not-an-installed-tool-42", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_sent_through_libc_kill_ends_a_child_process()
    {
        // The same P/Invoke AppProcess.SendSigtermAsync uses, checked on a process that needs no sample app.
        using var process = Process.Start(ProcessRunner.CreateStartInfo("sleep", ["30"]))!;
        try
        {
            Assert.Equal(0, NativeMethods.kill(process.Id, NativeMethods.SIGTERM));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(cts.Token);

            // .NET reports death by signal N as 128 + N.
            Assert.Equal(128 + NativeMethods.SIGTERM, process.ExitCode);
        }
        finally
        {
            ProcessRunner.KillQuietly(process);
        }
    }
}
