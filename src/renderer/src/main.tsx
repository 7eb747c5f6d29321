import { createRoot } from 'react-dom/client';
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { App } from './components/App';

createRoot(document.getElementById('root') as HTMLElement).render(<App />);
