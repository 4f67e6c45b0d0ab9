import './app/styles.css';
import { mountFrame } from './app/frame';
import { applyInitialTheme } from './app/theme';
import { initTransport } from './transport';

applyInitialTheme();
initTransport();
mountFrame(document.getElementById('app')!);
