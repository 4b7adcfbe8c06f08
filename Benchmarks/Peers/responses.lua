-- wrk script: sends `X-CHAP: response:…` cycling through the prepared responses in the file
-- named by $CRTAUTH_RESPONSES (lines "response VALUE", as HandshakeLoad prints them).
local responses = {}
for line in io.lines(os.getenv("CRTAUTH_RESPONSES")) do
    local value = line:match("^response (.+)$")
    if value then table.insert(responses, value) end
end
local index = 0
request = function()
    index = index % #responses + 1
    return wrk.format("GET", nil, { ["X-CHAP"] = "response:" .. responses[index] })
end
