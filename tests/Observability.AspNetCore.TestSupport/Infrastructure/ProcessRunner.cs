using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>Outcome of one finished external command.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="Stdout">Everything the process wrote to standard output.</param>
/// <param name="Stderr">Everything the process wrote to standard error.</param>
public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>True when the exit code is 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>Both streams together, for assertion messages and error reports.</summary>
    public string CombinedOutput => $"{Stdout}{(Stdout.Length > 0 && Stderr.Length > 0 ? "\n" : "")}{Stderr}";

    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs an external command to completion and captures its output.
/// Every helper in this folder goes through here so that all of them get the same guarantees:
/// arguments are passed as a list (no shell, no quoting bugs), nothing waits forever (a timeout
/// kills the whole process tree), and failures carry the command line and its output.
/// </summary>
public static class ProcessRunner
{
    /// <summary>Used when a caller gives no timeout; generous for initdb/promtool on a slow CI box.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <paramref name="fileName"/> with <paramref name="arguments"/> and returns its exit code and output.
    /// A non-zero exit code is NOT an exception (callers such as promtool tests want to inspect it);
    /// a timeout or a missing executable is.
    /// </summary>
    /// <param name="fileName">Executable name (looked up on PATH) or absolute path.</param>
    /// <param name="arguments">Arguments, one element per argv entry.</param>
    /// <param name="timeout">Kill the process tree and throw <see cref="TimeoutException"/> after this long.</param>
    /// <param name="standardInput">Text written to stdin, after which stdin is closed. When null stdin is closed at once,
    /// so a tool that unexpectedly reads stdin sees EOF instead of hanging.</param>
    /// <param name="workingDirectory">Working directory; defaults to the current one.</param>
    /// <param name="environment">Variables to set; a null value removes the variable from the inherited environment.</param>
    /// <param name="cancellationToken">Cancels the wait (and kills the process).</param>
    public static async Task<ToolResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? timeout = null,
        string? standardInput = null,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var startInfo = CreateStartInfo(fileName, arguments, workingDirectory, environment);
        startInfo.RedirectStandardInput = true;
        var effectiveTimeout = timeout ?? DefaultTimeout;

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"Could not start '{fileName}': {ex.Message}. Is it installed? 'bash eng/test.sh' installs every tool the tests need.", ex);
        }

        // Read both pipes concurrently from the start: a process that fills one pipe's buffer while we
        // wait on the other would otherwise deadlock.
        var stdoutTask = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderrTask = process.StandardError.ReadToEndAsync(CancellationToken.None);

        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken);
            }
        }
        catch (IOException)
        {
            // The tool exited (or closed stdin) before reading everything; its exit code tells the story.
        }
        finally
        {
            process.StandardInput.Close();
        }

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(effectiveTimeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            var (partialOut, partialErr) = await CollectAsync(stdoutTask, stderrTask);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new TimeoutException(
                $"'{Describe(startInfo)}' did not finish within {effectiveTimeout.TotalSeconds:0.#} s and was killed.\n" +
                $"--- stdout ---\n{partialOut}\n--- stderr ---\n{partialErr}");
        }

        var (stdout, stderr) = await CollectAsync(stdoutTask, stderrTask);
        return new ToolResult(process.ExitCode, stdout, stderr);
    }

    /// <summary>Like <see cref="RunAsync"/> but throws (with the full output) when the exit code is not 0.</summary>
    public static async Task<ToolResult> RunCheckedAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? timeout = null,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var args = arguments.ToList();
        var result = await RunAsync(fileName, args, timeout, null, workingDirectory, environment, cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"'{fileName} {string.Join(' ', args)}' failed with {result}");
        }

        return result;
    }

    /// <summary>
    /// Builds a <see cref="ProcessStartInfo"/> with redirected stdout/stderr and the given environment changes.
    /// Shared with the long-running server helpers, which start processes they do not wait for.
    /// </summary>
    /// <summary>Starts a long-running server process whose stdout and stderr lines both go to <paramref name="onLine"/>.</summary>
    public static Process StartCapturing(ProcessStartInfo startInfo, Action<string?> onLine)
    {
        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => onLine(e.Data);
        process.ErrorDataReceived += (_, e) => onLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static ProcessStartInfo CreateStartInfo(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IEnumerable<KeyValuePair<string, string?>>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            CreateNoWindow = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (workingDirectory is not null)
        {
            startInfo.WorkingDirectory = workingDirectory;
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    startInfo.Environment.Remove(key);
                }
                else
                {
                    startInfo.Environment[key] = value;
                }
            }
        }

        return startInfo;
    }

    /// <summary>Human-readable command line for error messages (not for execution).</summary>
    public static string Describe(ProcessStartInfo startInfo) =>
        string.Join(' ', new[] { startInfo.FileName }.Concat(startInfo.ArgumentList.Select(a => a.Length == 0 || a.Contains(' ') ? $"\"{a}\"" : a)));

    /// <summary>Kills the process and its children, ignoring the races where it already exited.</summary>
    public static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone, or never started.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited between HasExited and Kill.
        }
    }

    /// <summary>
    /// Finds an executable on PATH, so helpers can fail with "X is not installed" instead of an obscure Win32Exception.
    /// </summary>
    public static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        // Debian puts some admin tools in sbin, which is not on a non-root PATH.
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin"]))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Like <see cref="FindOnPath"/> but throws a message that tells the reader how to fix it.</summary>
    public static string RequireOnPath(string name, string debianPackage) =>
        FindOnPath(name) ?? throw new InvalidOperationException(
            $"'{name}' was not found on PATH. Install the Debian package '{debianPackage}' (bash eng/test.sh does it for you).");

    /// <summary>True when this test process runs as uid 0 (PostgreSQL refuses to run as root, so it matters).</summary>
    public static bool IsRoot => OperatingSystem.IsLinux() && NativeMethods.geteuid() == 0;

    /// <summary>
    /// Waits for the output readers after the process exited. A grandchild that inherited the pipes could keep
    /// them open forever; the grace period makes sure that can only cost seconds, not the whole CI run.
    /// </summary>
    private static async Task<(string Stdout, string Stderr)> CollectAsync(Task<string> stdoutTask, Task<string> stderrTask)
    {
        var grace = TimeSpan.FromSeconds(5);
        var stdout = await GetOrEmptyAsync(stdoutTask, grace);
        var stderr = await GetOrEmptyAsync(stderrTask, grace);
        return (stdout, stderr);
    }

    private static async Task<string> GetOrEmptyAsync(Task<string> task, TimeSpan grace)
    {
        try
        {
            return await task.WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            return "<output not collected: pipe still held open by another process>";
        }
        catch (IOException ex)
        {
            return $"<output not collected: {ex.Message}>";
        }
    }
}

/// <summary>The two libc calls the helpers need and .NET does not expose.</summary>
internal static partial class NativeMethods
{
    /// <summary>kill(2): used to send SIGTERM, which <see cref="Process.Kill()"/> cannot (it sends SIGKILL).</summary>
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static extern int kill(int pid, int signal);

    /// <summary>geteuid(2): decides whether PostgreSQL commands must be run through runuser.</summary>
    [DllImport("libc", EntryPoint = "geteuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static extern uint geteuid();

    internal const int SIGTERM = 15;
}
