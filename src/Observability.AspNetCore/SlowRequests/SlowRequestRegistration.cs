using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.SlowRequests;

/// <summary>The slow- and hung-request feature's services, added by <c>AddObservability()</c>.</summary>
internal static class SlowRequestRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, SlowRequestOptionsValidator>());

        // Started with the host: finds hung requests and summarises the warnings the shared budget suppressed.
        services.TryAddSingleton<SlowRequestMonitor>();
        services.AddHostedService(static sp => sp.GetRequiredService<SlowRequestMonitor>());
    }
}
