using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>The services of slow-query detection, added by <c>AddObservability()</c>.</summary>
internal static class SlowQueryRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, SlowQueryOptionsValidator>());
        services.TryAddSingleton<SlowQueryMonitor>();

        // Started with the host: subscribes to Npgsql's activities (raw Npgsql needs no other hook) and runs the
        // once-a-second summary of suppressed warnings.
        services.AddHostedService(static sp => sp.GetRequiredService<SlowQueryMonitor>());

        if (AppUsesEfCore())
        {
            AddEfCore(services);
        }
    }

    /// <summary>
    /// Whether something in the app besides this library depends on EF Core, read by name from the app's dependency
    /// graph (its <c>.deps.json</c>, which the host names in <c>APP_CONTEXT_DEPS_FILES</c>): a type test would load EF
    /// Core into every app, since this library references it. Read with <see cref="JsonDocument"/>, which the shared
    /// framework carries precompiled, not <c>DependencyContext</c>, whose package (some 200 methods) would be
    /// JIT-compiled at every start. Without a dependency graph (single-file, custom hosts) the hook is added.
    /// </summary>
    internal static bool AppUsesEfCore()
    {
        // The app's own graph comes first; the shared frameworks' follow, separated by ';'.
        var files = AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string;
        var end = files?.IndexOf(';', StringComparison.Ordinal) ?? -1;
        var appDeps = end < 0 ? files : files![..end];
        if (string.IsNullOrWhiteSpace(appDeps))
        {
            return true;
        }

        try
        {
            return AppUsesEfCore(File.ReadAllBytes(appDeps));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return true;
        }
    }

    /// <summary>Whether a library of the graph other than this one and EF Core's own lists a dependency on EF Core.</summary>
    internal static bool AppUsesEfCore(ReadOnlyMemory<byte> depsJson)
    {
        using var document = JsonDocument.Parse(depsJson);
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("targets", out var targets))
        {
            return true;
        }

        var self = typeof(SlowQueryRegistration).Assembly.GetName().Name;
        foreach (var target in targets.EnumerateObject())
        {
            if (target.Value.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            foreach (var library in target.Value.EnumerateObject())
            {
                // "Name/Version"
                var slash = library.Name.IndexOf('/', StringComparison.Ordinal);
                var name = slash < 0 ? library.Name : library.Name[..slash];
                if (string.Equals(name, self, StringComparison.OrdinalIgnoreCase) || IsEfCore(name)
                    || library.Value.ValueKind != JsonValueKind.Object
                    || !library.Value.TryGetProperty("dependencies", out var dependencies)
                    || dependencies.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                foreach (var dependency in dependencies.EnumerateObject())
                {
                    if (IsEfCore(dependency.Name))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    private static bool IsEfCore(string name) => name.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.OrdinalIgnoreCase);

    /// <summary>Never inlined into <see cref="Add"/>: naming EF Core's types loads EF Core.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddEfCore(IServiceCollection services)
    {
        // One open generic registration reaches every context type, registered before or after this call.
        services.TryAddSingleton<ObservabilityDbCommandInterceptor>();
        services.Add(ServiceDescriptor.Singleton(typeof(IDbContextOptionsConfiguration<>), typeof(ObservabilityDbContextOptionsConfiguration<>)));
    }
}
