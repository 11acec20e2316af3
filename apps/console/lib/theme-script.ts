// Plain module (no 'use client') so the root layout, a server component, can inline the script.
export const THEME_STORAGE_KEY = 'atoll-theme';

/**
 * Runs in <head> before the first paint so a dark-mode user never sees a white flash. Kept as a
 * string because it must not wait for React.
 */
export const themeBootScript = `(function(){try{var m=localStorage.getItem('${THEME_STORAGE_KEY}');var d=m==='dark'||(m!=='light'&&matchMedia('(prefers-color-scheme: dark)').matches);var e=document.documentElement;e.classList.toggle('dark',d);e.style.colorScheme=d?'dark':'light'}catch(_){}})()`;
