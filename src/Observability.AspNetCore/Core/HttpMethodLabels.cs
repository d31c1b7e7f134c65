using Microsoft.AspNetCore.Http;

namespace Observability.AspNetCore.Core;

/// <summary>
/// The <c>method</c> label: the standard verbs as they are, every other verb collapsed to <c>OTHER</c>, so a client
/// sending made-up verbs cannot create series.
/// </summary>
internal static class HttpMethodLabels
{
    public static readonly string[] Values = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "OTHER"];

    public static int IndexOf(string method)
    {
        // HttpMethods.IsX compares by reference first: Kestrel hands out the interned constants.
        if (HttpMethods.IsGet(method))
        {
            return 0;
        }

        if (HttpMethods.IsPost(method))
        {
            return 1;
        }

        if (HttpMethods.IsPut(method))
        {
            return 2;
        }

        if (HttpMethods.IsDelete(method))
        {
            return 3;
        }

        if (HttpMethods.IsPatch(method))
        {
            return 4;
        }

        if (HttpMethods.IsHead(method))
        {
            return 5;
        }

        if (HttpMethods.IsOptions(method))
        {
            return 6;
        }

        if (HttpMethods.IsTrace(method))
        {
            return 7;
        }

        return HttpMethods.IsConnect(method) ? 8 : 9;
    }
}
