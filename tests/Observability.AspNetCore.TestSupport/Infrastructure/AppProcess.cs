using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Foundation;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A built .NET app run as a real child process (<c>dotnet app.dll --urls ...</c>), the way a user runs it.
/// </summary>
/// <remarks>
/// WebApplicationFactory runs the app in the test process with a TestServer, which hides exactly the things
/// an observability library must get right in production: what is really written to stdout (JSON log
/// lines), Kestrel binding, and graceful shutdown on SIGTERM (what Kubernetes/systemd send). This class
/// captures every output line and lets a test send SIGTERM and read the exit code.
/// </remarks>
public sealed class AppProcess : IAsyncDisposable
{
    private static readonly TimeSpan DefaultReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly Lock _gate = new();
    private bool _disposed;

    private AppProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Where the app listens, e.g. <c>http://127.0.0.1:43123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>An HttpClient pointed at <see cref="BaseAddress"/>; disposed with this object.</summary>
    public HttpClient Client { get; }

    /// <summary>OS process id of the app (the dotnet host runs the app in-process, so this is the app).</summary>
    public int Pid => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Snapshot of every stdout line so far, in order.</summary>
    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _stdout];
            }
        }
    }

    /// <summary>Snapshot of every stderr line so far, in order.</summary>
    public IReadOnlyList<string> StderrLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _stderr];
            }
        }
    }

    /// <summary>Both streams, for assertion messages.</summary>
    public string OutputDump => $"--- stdout ---\n{string.Join('\n', StdoutLines)}\n--- stderr ---\n{string.Join('\n', StderrLines)}";

    /// <summary>
    /// Starts <c>dotnet <paramref name="dllPath"/> --urls ...</c> and returns once the app answers HTTP.
    /// </summary>
    /// <param name="dllPath">The app's main dll; its .runtimeconfig.json and .deps.json must sit next to it.</param>
    /// <param name="environment">Extra environment variables; a null value removes an inherited variable.
    /// ASPNETCORE_ENVIRONMENT defaults to Production (what users deploy), unless given here.</param>
    /// <param name="urls">Value for --urls; a free <c>http://127.0.0.1:PORT</c> when null. The first URL becomes <see cref="BaseAddress"/>.</param>
    /// <param name="readinessPath">Polled until it answers with any HTTP status (even 404/503 means Kestrel is up).</param>
    /// <param name="readyTimeout">How long to wait for readiness; 30 s by default.</param>
    /// <param name="cancellationToken">Aborts the start (the process is killed).</param>
    /// <param name="stdoutPath">A file (e.g. a FIFO) the app's stdout goes to instead of this object; the app's stdout
    /// is opened by a shell that then becomes the app, as a container runtime would hand it a pipe.</param>
    public static async Task<AppProcess> StartAsync(
        string dllPath,
        IDictionary<string, string?>? environment = null,
        string? urls = null,
        string readinessPath = "/",
        TimeSpan? readyTimeout = null,
        CancellationToken cancellationToken = default,
        string? stdoutPath = null)
    {
        if (!File.Exists(dllPath))
        {
            throw new FileNotFoundException($"The app to run was not found: {dllPath}", dllPath);
        }

        urls ??= $"http://127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}";
        var baseAddress = new Uri(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].TrimEnd('/') + "/");

        var variables = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_NOLOGO"] = "1",
            // Inherited settings from the developer's shell or the test host must not change where the app binds
            // (--urls wins over these anyway, but a stray HTTPS port would make Kestrel look for a certificate).
            ["ASPNETCORE_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
            ["ASPNETCORE_HTTPS_PORTS"] = null,
            ["DOTNET_ENVIRONMENT"] = null,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            variables[key] = value;
        }

        var startInfo = ProcessRunner.CreateStartInfo(
            stdoutPath is null ? DotnetHost.Path : "/bin/sh",
            stdoutPath is null ? [dllPath, "--urls", urls] : ["-c", "exec \"$@\" > \"$0\"", stdoutPath, DotnetHost.Path, dllPath, "--urls", urls],
            // Content root = current directory for WebApplication: run from the dll's folder so appsettings*.json are found.
            workingDirectory: Path.GetDirectoryName(Path.GetFullPath(dllPath)),
            environment: variables);

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var app = new AppProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => app.Append(app._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => app.Append(app._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await app.WaitUntilAnsweringAsync(readinessPath, readyTimeout ?? DefaultReadyTimeout, cancellationToken);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Path of the sample API's dll in the test output directory (the test project references the sample, so the
    /// build copies it there together with its runtimeconfig/deps files).
    /// </summary>
    public static string SampleApiDllPath()
    {
        var directory = AppContext.BaseDirectory;
        var dll = Path.Combine(directory, "Observability.SampleApi.dll");
        var required = new[] { dll, Path.ChangeExtension(dll, ".runtimeconfig.json"), Path.ChangeExtension(dll, ".deps.json") };
        var missing = required.Where(path => !File.Exists(path)).ToList();
        return missing.Count == 0
            ? dll
            : throw new InvalidOperationException(
                $"The sample API cannot be run from {directory}; missing: {string.Join(", ", missing.Select(Path.GetFileName))}. " +
                "Build the solution first (bash eng/test.sh does).");
    }

    /// <summary>Every stdout line that is a JSON object (structured log lines), parsed; other lines are skipped.</summary>
    public IReadOnlyList<JsonElement> JsonLines()
    {
        var result = new List<JsonElement>();
        foreach (var line in StdoutLines)
        {
            if (TryParseJsonObject(line, out var element))
            {
                result.Add(element);
            }
        }

        return result;
    }

    /// <summary>The stdout lines that are not JSON objects (e.g. plain console logs or a stray Console.WriteLine).</summary>
    public IReadOnlyList<string> NonJsonStdoutLines() =>
        StdoutLines.Where(line => !TryParseJsonObject(line, out _)).ToList();

    /// <summary>Waits until some stdout line satisfies <paramref name="predicate"/> and returns it.</summary>
    /// <exception cref="TimeoutException">With the captured output.</exception>
    public async Task<string> WaitForStdoutLineAsync(Func<string, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var match = StdoutLines.FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"No matching stdout line within {timeout.TotalSeconds:0.#} s.\n{OutputDump}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Sends SIGTERM (graceful shutdown request, what an orchestrator sends). Process.Kill would send SIGKILL.</summary>
    public Task SendSigtermAsync()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            throw new PlatformNotSupportedException("SIGTERM needs a Unix-like OS.");
        }

        if (NativeMethods.kill(_process.Id, NativeMethods.SIGTERM) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed with errno {errno}.");
        }

        return Task.CompletedTask;
    }

    /// <summary>Waits for the app to exit and returns its exit code; all output has been captured by then.</summary>
    /// <exception cref="TimeoutException">If it is still running after <paramref name="timeout"/> (it is left running; dispose kills it).</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            // Also waits for the redirected streams to reach EOF, so StdoutLines is complete afterwards.
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The app (pid {_process.Id}) did not exit within {timeout.TotalSeconds:0.#} s.\n{OutputDump}");
        }

        return _process.ExitCode;
    }

    /// <summary>Kills the app if it is still running.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ProcessRunner.KillQuietly(_process);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Nothing more we can do; do not hang the test run over it.
        }

        Client.Dispose();
        _process.Dispose();
    }

    private async Task WaitUntilAnsweringAsync(string readinessPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                await WaitForExitAsync(TimeSpan.FromSeconds(5));
                throw new InvalidOperationException(
                    $"'{ProcessRunner.Describe(_process.StartInfo)}' exited with code {_process.ExitCode} before answering HTTP.\n{OutputDump}");
            }

            try
            {
                // Any status code counts: it proves Kestrel is listening. Whether it is the right status is the test's business.
                using var response = await probe.GetAsync(new Uri(readinessPath.TrimStart('/'), UriKind.Relative), cancellationToken);
                return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The probe's own 2 s timeout; keep polling.
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"'{ProcessRunner.Describe(_process.StartInfo)}' did not answer GET {readinessPath} within {timeout.TotalSeconds:0.#} s.\n{OutputDump}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    private void Append(List<string> lines, string? line)
    {
        if (line is null)
        {
            return; // End of stream.
        }

        lock (_gate)
        {
            lines.Add(line);
        }
    }

    private static bool TryParseJsonObject(string line, out JsonElement element)
    {
        element = default;
        var trimmed = line.AsSpan().Trim();
        if (trimmed.Length < 2 || trimmed[0] != '{')
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            element = document.RootElement.Clone();
            return element.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public override string ToString() => $"AppProcess pid {_process.Id} at {BaseAddress}";
}
