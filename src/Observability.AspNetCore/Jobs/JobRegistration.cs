using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Jobs;

/// <summary>The jobs feature's services: the runner apps inject, and its options' validator.</summary>
internal static class JobRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, JobOptionsValidator>());
        services.TryAddSingleton<IJobRunner, JobRunner>();
        services.TryAddSingleton<WorkerRegistry>();
        services.AddHostedService<HostedServiceWatcher>();
    }
}
