using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyModel;
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

        if (AppUsesEfCore(DependencyContext.Default))
        {
            AddEfCore(services);
        }
    }

    /// <summary>
    /// Whether something in the app besides this library depends on EF Core, read from the app's dependency graph
    /// (<c>.deps.json</c>) by name: a type test would load EF Core into every app, since this library references it.
    /// Without a dependency graph (single-file, custom hosts) the hook is added, as before.
    /// </summary>
    internal static bool AppUsesEfCore(DependencyContext? context)
    {
        if (context is null)
        {
            return true;
        }

        var self = typeof(SlowQueryRegistration).Assembly.GetName().Name;
        foreach (var library in context.RuntimeLibraries)
        {
            if (string.Equals(library.Name, self, StringComparison.OrdinalIgnoreCase) || IsEfCore(library.Name))
            {
                continue;
            }

            foreach (var dependency in library.Dependencies)
            {
                if (IsEfCore(dependency.Name))
                {
                    return true;
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
