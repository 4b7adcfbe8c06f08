-- wrk script: sends `X-CHAP: response:…` cycling through the prepared responses in the file
-- named by $CRTAUTH_RESPONSES (lines "response VALUE", as HandshakeLoad prints them). The
-- requests are formatted once, in init: formatting one per request cost wrk's threads more CPU
-- than a static request, on the cores the server shares, and so counted against the server.
local requests = {}
local index = 0

function init(args)
    for line in io.lines(os.getenv("CRTAUTH_RESPONSES")) do
        local value = line:match("^response (.+)$")
        if value then table.insert(requests, wrk.format("GET", nil, { ["X-CHAP"] = "response:" .. value })) end
    end
end

request = function()
    index = index % #requests + 1
    return requests[index]
end
