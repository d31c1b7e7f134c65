using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.RequestId;

/// <summary>The request-ID feature's services, added by <c>AddObservability()</c>.</summary>
internal static class RequestIdRegistration
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ObservabilityOptions>, RequestIdOptionsValidator>());

        // The ID in every problem-details body, and on every call the app makes through IHttpClientFactory.
        services.PostConfigure<ProblemDetailsOptions>(ProblemDetailsRequestId.Chain);
        services.TryAddTransient<RequestIdPropagationHandler>();
        services.ConfigureHttpClientDefaults(static b => b.AddHttpMessageHandler<RequestIdPropagationHandler>());
    }
}
