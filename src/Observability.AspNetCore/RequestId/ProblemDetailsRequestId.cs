using Microsoft.AspNetCore.Http;

namespace Observability.AspNetCore.RequestId;

/// <summary>
/// Every problem-details body the app writes through <see cref="IProblemDetailsService"/> (404s, validation errors,
/// status-code pages, the library's own 500) carries <c>requestId</c>, so a user can quote the ID that finds the
/// request's log events. The app's own customization still runs, after ours.
/// </summary>
internal static class ProblemDetailsRequestId
{
    public const string ExtensionName = "requestId";

    public static void Chain(ProblemDetailsOptions options)
    {
        var appCustomization = options.CustomizeProblemDetails;
        options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Extensions.TryAdd(ExtensionName, context.HttpContext.TraceIdentifier);
            appCustomization?.Invoke(context);
        };
    }
}
