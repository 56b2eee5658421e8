/**
 * Hosts WhatsApp serves media from (Baileys' `DEF_MEDIA_HOST` `mmg.whatsapp.net`, its fallbacks
 * and the regional `media-*.cdn.whatsapp.net` / `*.fna.whatsapp.net` hosts), the default of the
 * plugin's `mediaHosts` option.
 */
export const WHATSAPP_MEDIA_HOSTS: readonly string[] = ['mmg.whatsapp.net', '*.whatsapp.net'];
