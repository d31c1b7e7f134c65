using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

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

        if (AppDependencies.UsesEfCore)
        {
            AddEfCore(services);
        }
    }

    /// <summary>Never inlined into <see cref="Add"/>: naming EF Core's types loads EF Core.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddEfCore(IServiceCollection services)
    {
        // One open generic registration reaches every context type, registered before or after this call.
        services.TryAddSingleton<ObservabilityDbCommandInterceptor>();
        services.Add(ServiceDescriptor.Singleton(typeof(IDbContextOptionsConfiguration<>), typeof(ObservabilityDbContextOptionsConfiguration<>)));
    }
}
