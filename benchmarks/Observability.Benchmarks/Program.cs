using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

// Usage:
//   Observability.Benchmarks [BenchmarkDotNet arguments, e.g. --filter '*RequestPath*']
//   Observability.Benchmarks --smoke [...]        every benchmark once (Job.Dry): only proves they still run
//   Observability.Benchmarks --loop Class.Method SECONDS
//                                                 runs one benchmark in a tight loop, for an outside profiler:
//                                                 DOTNET_PerfMapEnabled=1 perf record -g -- dotnet Observability.Benchmarks.dll --loop ...
if (args.Length == 3 && args[0] == "--loop")
{
    return Loop(args[1], double.Parse(args[2], CultureInfo.InvariantCulture));
}

// A short job run in this process: 2 cores are too few (and too shared) for BenchmarkDotNet's default of several
// child processes and long runs; the 34 benchmarks take about 2 minutes this way.
var smoke = args.Contains("--smoke");
var job = (smoke ? Job.Dry : Job.ShortRun.WithWarmupCount(3).WithIterationCount(5).WithIterationTime(TimeInterval.FromMilliseconds(250)))
    .WithToolchain(InProcessEmitToolchain.Instance)
    .WithId(smoke ? "Smoke" : "Short");
var config = DefaultConfig.Instance.AddJob(job.AsDefault()).WithOptions(ConfigOptions.DisableLogFile);
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. args.Where(a => a != "--smoke")], config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;

static int Loop(string name, double seconds)
{
    var dot = name.LastIndexOf('.');
    var type = typeof(Program).Assembly.GetTypes().Single(t => t.Name == name[..dot]);
    var method = type.GetMethod(name[(dot + 1)..]) ?? throw new ArgumentException($"No method {name}.");
    var instance = Activator.CreateInstance(type)!;
    type.GetMethods().SingleOrDefault(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null)?.Invoke(instance, null);
    var run = method.CreateDelegate<Func<object?>>(instance);
    var stopwatch = Stopwatch.StartNew();
    long calls = 0;
    while (stopwatch.Elapsed.TotalSeconds < seconds)
    {
        for (var i = 0; i < 10_000; i++)
        {
            if (run() is Task task)
            {
                task.GetAwaiter().GetResult();
            }
        }

        calls += 10_000;
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {calls} calls, {stopwatch.Elapsed.TotalNanoseconds / calls:0.0} ns/call"));
    return 0;
}

/// <summary>The entry point.</summary>
public partial class Program;
