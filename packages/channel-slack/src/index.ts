/** @omni/channel-slack: the Slack ChannelPlugin (in progress). */
export {};
